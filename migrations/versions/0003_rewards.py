"""Rewards: rules per period, reward rounds and awards.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reward_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('audience', sa.String(length=8), nullable=False),
    sa.Column('threshold_minutes', sa.Integer(), nullable=False),
    sa.Column('rule_group', sa.String(length=40), nullable=True),
    sa.Column('fixed_amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('rate_per_hour_minor', sa.BigInteger(), nullable=False),
    sa.Column('cap_minor', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("audience IN ('teacher', 'expert')", name=op.f('ck_reward_rule_audience')),
    sa.CheckConstraint("kind IN ('honour', 'bonus')", name=op.f('ck_reward_rule_kind')),
    sa.CheckConstraint('fixed_amount_minor >= 0 AND rate_per_hour_minor >= 0 AND (cap_minor IS NULL OR cap_minor >= 0)', name=op.f('ck_reward_rule_money')),
    sa.CheckConstraint('threshold_minutes >= 0', name=op.f('ck_reward_rule_threshold')),
    sa.ForeignKeyConstraint(['period_id'], ['period.id'], name=op.f('fk_reward_rule_period_id_period')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reward_rule')),
    sa.UniqueConstraint('period_id', 'code', name='uq_reward_rule_period_code')
    )
    with op.batch_alter_table('reward_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reward_rule_period_id'), ['period_id'], unique=False)

    op.create_table('reward_round',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=False),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finalized_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finalized_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('draft', 'finalized')", name=op.f('ck_reward_round_state')),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_reward_round_department_id_department')),
    sa.ForeignKeyConstraint(['finalized_by_id'], ['user_account.id'], name=op.f('fk_reward_round_finalized_by_id_user_account')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['user_account.id'], name=op.f('fk_reward_round_opened_by_id_user_account')),
    sa.ForeignKeyConstraint(['period_id'], ['period.id'], name=op.f('fk_reward_round_period_id_period')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reward_round')),
    sa.UniqueConstraint('department_id', 'period_id', name='uq_reward_round_department_period')
    )
    with op.batch_alter_table('reward_round', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reward_round_period_id'), ['period_id'], unique=False)

    op.create_table('award',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('holder_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('certificate_number', sa.String(length=60), nullable=True),
    sa.Column('verification_code', sa.String(length=40), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('proposed', 'approved', 'rejected', 'issued', 'revoked')", name=op.f('ck_award_status')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_award_decided_by_id_user_account')),
    sa.ForeignKeyConstraint(['holder_id'], ['user_account.id'], name=op.f('fk_award_holder_id_user_account')),
    sa.ForeignKeyConstraint(['round_id'], ['reward_round.id'], name=op.f('fk_award_round_id_reward_round')),
    sa.ForeignKeyConstraint(['rule_id'], ['reward_rule.id'], name=op.f('fk_award_rule_id_reward_rule')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award')),
    sa.UniqueConstraint('certificate_number', name=op.f('uq_award_certificate_number')),
    sa.UniqueConstraint('round_id', 'holder_id', 'rule_id', name='uq_award_round_holder_rule'),
    sa.UniqueConstraint('verification_code', name=op.f('uq_award_verification_code'))
    )
    with op.batch_alter_table('award', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_award_holder_id'), ['holder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_award_round_id'), ['round_id'], unique=False)



def downgrade():
    with op.batch_alter_table('award', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_award_round_id'))
        batch_op.drop_index(batch_op.f('ix_award_holder_id'))

    op.drop_table('award')
    with op.batch_alter_table('reward_round', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reward_round_period_id'))

    op.drop_table('reward_round')
    with op.batch_alter_table('reward_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reward_rule_period_id'))

    op.drop_table('reward_rule')
