"""Indexes for the hot paths: every list, count and sum of exchange logs is read from
an index that matches it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

The navigation's to-do counts, the lists (mine, verify, approve, department, all)
and the per-person sums behind eligibility and reward rounds each get an index
whose leading columns are their conditions and whose next columns are their
ORDER BY or GROUP BY; the queues' and the sums' indexes also hold the columns
their counts and sums read, so those are answered from the index alone. The
four indexes they make redundant go. They hold live logs only (not deleted
drafts, which have an index of their own).
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

NEW = {
    'ix_exchange_log_owner_list': ['owner_id', 'work_date', 'id'],
    'ix_exchange_log_verifier_queue': [
        'verifier_id', 'status', 'kind', 'work_date', 'id',
        'period_id', 'enterprise_id', 'department_id',
    ],
    'ix_exchange_log_department_queue': [
        'department_id', 'status', 'work_date', 'id', 'period_id', 'owner_id'
    ],
    'ix_exchange_log_status_list': ['status', 'work_date', 'id', 'period_id'],
    'ix_exchange_log_department_list': ['department_id', 'work_date', 'id'],
    'ix_exchange_log_list': ['work_date', 'id'],
    'ix_exchange_log_department_sums': [
        'department_id', 'period_id', 'owner_id', 'kind', 'status', 'minutes'
    ],
    'ix_exchange_log_period_sums': [
        'period_id', 'owner_id', 'kind', 'department_id', 'status', 'minutes'
    ],
}
OLD = {
    'ix_exchange_log_owner_date': ['owner_id', 'work_date'],
    'ix_exchange_log_verifier_status': ['verifier_id', 'status'],
    'ix_exchange_log_department_period_status': ['department_id', 'period_id', 'status'],
    'ix_exchange_log_period_id': ['period_id'],
}


# Only live logs: every read but the administrator's leaves deleted drafts out, and
# those have an index of their own.
LIVE = sa.text('deleted_at IS NULL')
DELETED = sa.text('deleted_at IS NOT NULL')


def upgrade():
    for name, columns in NEW.items():
        op.create_index(name, 'exchange_log', columns, unique=False,
                        sqlite_where=LIVE, postgresql_where=LIVE)
    op.create_index('ix_exchange_log_deleted', 'exchange_log', ['owner_id', 'deleted_at'],
                    unique=False, sqlite_where=DELETED, postgresql_where=DELETED)
    for name in OLD:
        op.drop_index(name, table_name='exchange_log')
    op.create_index('ix_period_starts_on', 'period', ['starts_on'], unique=False)
    _analyze()


def downgrade():
    op.drop_index('ix_period_starts_on', table_name='period')
    for name, columns in OLD.items():
        op.create_index(name, 'exchange_log', columns, unique=False)
    op.drop_index('ix_exchange_log_deleted', table_name='exchange_log')
    for name in NEW:
        op.drop_index(name, table_name='exchange_log')


def _analyze():
    # Fresh statistics, so that the planner sees the new indexes for what they are.
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ANALYZE exchange_log')
