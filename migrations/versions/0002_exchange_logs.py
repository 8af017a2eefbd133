"""Exchange logs and their audit trail.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('exchange_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('work_date', sa.Date(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('course', sa.String(length=120), nullable=True),
    sa.Column('cohort', sa.String(length=60), nullable=True),
    sa.Column('students', sa.Integer(), nullable=True),
    sa.Column('description', sa.String(length=2000), nullable=False),
    sa.Column('verifier_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('evidence_file', sa.String(length=80), nullable=True),
    sa.Column('evidence_name', sa.String(length=200), nullable=True),
    sa.Column('evidence_type', sa.String(length=40), nullable=True),
    sa.Column('evidence_size', sa.Integer(), nullable=True),
    sa.Column('client_id', sa.String(length=36), nullable=True),
    sa.Column('confirmation_nonce', sa.String(length=32), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('practice', 'teaching')", name=op.f('ck_exchange_log_kind')),
    sa.CheckConstraint("status IN ('draft', 'submitted', 'verified', 'approved', 'rejected', 'revoked')", name=op.f('ck_exchange_log_status')),
    sa.CheckConstraint('minutes BETWEEN 15 AND 720 AND minutes % 15 = 0', name=op.f('ck_exchange_log_minutes')),
    sa.CheckConstraint('students IS NULL OR students BETWEEN 1 AND 1000', name=op.f('ck_exchange_log_students')),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_exchange_log_department_id_department')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_exchange_log_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['owner_id'], ['user_account.id'], name=op.f('fk_exchange_log_owner_id_user_account')),
    sa.ForeignKeyConstraint(['period_id'], ['period.id'], name=op.f('fk_exchange_log_period_id_period')),
    sa.ForeignKeyConstraint(['verifier_id'], ['user_account.id'], name=op.f('fk_exchange_log_verifier_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_log')),
    sa.UniqueConstraint('owner_id', 'client_id', name='uq_exchange_log_owner_client')
    )
    with op.batch_alter_table('exchange_log', schema=None) as batch_op:
        batch_op.create_index('ix_exchange_log_department_period_status', ['department_id', 'period_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_log_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index('ix_exchange_log_owner_date', ['owner_id', 'work_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_log_period_id'), ['period_id'], unique=False)
        batch_op.create_index('ix_exchange_log_verifier_status', ['verifier_id', 'status'], unique=False)

    op.create_table('log_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('log_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=250), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.CheckConstraint("action IN ('create', 'edit', 'delete', 'submit', 'withdraw', 'verify', 'reject', 'approve', 'revoke')", name=op.f('ck_log_event_action')),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_log_event_actor_id_user_account')),
    sa.ForeignKeyConstraint(['log_id'], ['exchange_log.id'], name=op.f('fk_log_event_log_id_exchange_log')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_log_event'))
    )
    with op.batch_alter_table('log_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_log_event_log_id'), ['log_id'], unique=False)



def downgrade():
    with op.batch_alter_table('log_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_log_event_log_id'))

    op.drop_table('log_event')
    with op.batch_alter_table('exchange_log', schema=None) as batch_op:
        batch_op.drop_index('ix_exchange_log_verifier_status')
        batch_op.drop_index(batch_op.f('ix_exchange_log_period_id'))
        batch_op.drop_index('ix_exchange_log_owner_date')
        batch_op.drop_index(batch_op.f('ix_exchange_log_enterprise_id'))
        batch_op.drop_index('ix_exchange_log_department_period_status')

    op.drop_table('exchange_log')
