"""An index for the reports: a period's hours by month, department, enterprise,
category and person, read from the index alone.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

The department, college and enterprise reports sum a period's approved and pending
minutes (one status or the other), optionally of one department, several ways. The
index leads with those conditions (period, status, department) and holds every
column the sums group by or read, so that each report reads the index of the
logs it covers and never the table: at 300,000 logs a college report stays within
a few hundred milliseconds. Live logs only, as the other hot-path indexes.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

COLUMNS = [
    'period_id', 'status', 'department_id', 'work_date', 'enterprise_id', 'kind',
    'category', 'owner_id', 'minutes', 'status_since',
]
LIVE = sa.text('deleted_at IS NULL')


def upgrade():
    op.create_index('ix_exchange_log_period_report', 'exchange_log', COLUMNS, unique=False,
                    sqlite_where=LIVE, postgresql_where=LIVE)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ANALYZE exchange_log')


def downgrade():
    op.drop_index('ix_exchange_log_period_report', table_name='exchange_log')
