"""Integrity signals and queue ages: how on-site confirmations came in, where people
last signed in from, and since when each log is in its status.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

* ``onsite_confirmation``: one row per on-site decision, written with its audit
  entry: the typed confirmer name as compared, the college day, a salted hash of
  the client's address (never the address) and whether the owner's own session
  cookie came with it or it came from the address the owner last signed in from.
* ``user_account.sign_in_address_hash``: the salted hash of that address.
* ``exchange_log.status_since``: when the log entered its status, what a queue
  waits on. Existing logs take the time of the audit entry that brought them
  there (their last change when there is none).
* The queues are read the longest waiting first: the verifier's queue index
  orders by ``status_since`` instead of the work date, and the approval queues
  (a head's department, an admin's college) get indexes of their own; the old
  ones stay for the status-filtered lists, which are newest first.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

LIVE = sa.text('deleted_at IS NULL')
VERIFIER_QUEUE = 'ix_exchange_log_verifier_queue'
VERIFIER_QUEUE_BEFORE = [
    'verifier_id', 'status', 'kind', 'work_date', 'id', 'period_id', 'enterprise_id',
    'department_id',
]
VERIFIER_QUEUE_AFTER = [
    'verifier_id', 'status', 'kind', 'status_since', 'id', 'period_id', 'enterprise_id',
    'department_id',
]
WAITING = {
    'ix_exchange_log_department_waiting': [
        'department_id', 'status', 'status_since', 'id', 'period_id', 'owner_id'
    ],
    'ix_exchange_log_status_waiting': ['status', 'status_since', 'id', 'period_id'],
}


def upgrade():
    op.create_table(
        'onsite_confirmation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('log_id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('confirmer_key', sa.String(length=120), nullable=False),
        sa.Column('confirmed_on', sa.Date(), nullable=False),
        sa.Column('verified', sa.Boolean(), nullable=False),
        sa.Column('address_hash', sa.String(length=64), nullable=True),
        sa.Column('with_owner_session', sa.Boolean(), nullable=False),
        sa.Column('from_owner_network', sa.Boolean(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['log_event.id'],
                                name=op.f('fk_onsite_confirmation_event_id_log_event')),
        sa.ForeignKeyConstraint(['log_id'], ['exchange_log.id'],
                                name=op.f('fk_onsite_confirmation_log_id_exchange_log')),
        sa.ForeignKeyConstraint(['owner_id'], ['user_account.id'],
                                name=op.f('fk_onsite_confirmation_owner_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_onsite_confirmation')),
        sa.UniqueConstraint('event_id', name=op.f('uq_onsite_confirmation_event_id')),
    )
    with op.batch_alter_table('onsite_confirmation', schema=None) as batch_op:
        batch_op.create_index('ix_onsite_confirmation_confirmer_day',
                              ['confirmer_key', 'confirmed_on', 'owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_onsite_confirmation_log_id'), ['log_id'],
                              unique=False)

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sign_in_address_hash', sa.String(length=64),
                                      nullable=True))

    # Added empty, filled from the audit trail, then required.
    with op.batch_alter_table('exchange_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_since', sa.DateTime(timezone=True), nullable=True))
    op.execute(
        'UPDATE exchange_log SET status_since = COALESCE('
        '(SELECT max(log_event.at) FROM log_event WHERE log_event.log_id = exchange_log.id'
        ' AND log_event.to_status = exchange_log.status), updated_at, created_at)'
    )
    with op.batch_alter_table('exchange_log', schema=None) as batch_op:
        batch_op.alter_column('status_since', existing_type=sa.DateTime(timezone=True),
                              nullable=False)

    op.drop_index(VERIFIER_QUEUE, table_name='exchange_log')
    op.create_index(VERIFIER_QUEUE, 'exchange_log', VERIFIER_QUEUE_AFTER, unique=False,
                    sqlite_where=LIVE, postgresql_where=LIVE)
    for name, columns in WAITING.items():
        op.create_index(name, 'exchange_log', columns, unique=False,
                        sqlite_where=LIVE, postgresql_where=LIVE)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ANALYZE exchange_log')


def downgrade():
    for name in WAITING:
        op.drop_index(name, table_name='exchange_log')
    op.drop_index(VERIFIER_QUEUE, table_name='exchange_log')
    op.create_index(VERIFIER_QUEUE, 'exchange_log', VERIFIER_QUEUE_BEFORE, unique=False,
                    sqlite_where=LIVE, postgresql_where=LIVE)
    with op.batch_alter_table('exchange_log', schema=None) as batch_op:
        batch_op.drop_column('status_since')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('sign_in_address_hash')
    with op.batch_alter_table('onsite_confirmation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_onsite_confirmation_log_id'))
        batch_op.drop_index('ix_onsite_confirmation_confirmer_day')
    op.drop_table('onsite_confirmation')
