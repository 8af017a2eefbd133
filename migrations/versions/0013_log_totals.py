"""Kept totals: minutes and logs per department, period, owner, kind and status.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08

``log_total`` holds, per key, the minutes and the number of live logs (deleted
drafts left out). Triggers on ``exchange_log`` keep it in the writing transaction,
whoever runs the SQL: on PostgreSQL once per statement from its transition tables
(a bulk COPY is one grouped upsert), on SQLite once per row. The table is filled
from the existing logs here. The index that summed a department's logs per person
(``ix_exchange_log_department_sums``) is no longer read, and goes.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

KEY = 'department_id, period_id, owner_id, kind, status'
PG_FUNCTION = 'exchange_keep_log_total'
TRIGGERS = {'INSERT': 'log_total_add', 'UPDATE': 'log_total_move', 'DELETE': 'log_total_remove'}
DEPARTMENT_SUMS = 'ix_exchange_log_department_sums'
DEPARTMENT_SUMS_COLUMNS = ['department_id', 'period_id', 'owner_id', 'kind', 'status', 'minutes']
LIVE = sa.text('deleted_at IS NULL')


def _upsert(rows):
    """Add ``rows`` (key, minutes, logs) to the totals: one row per key, in the key's
    order (two transactions moving logs between the same keys lock them in one order)."""
    return (
        f'INSERT INTO log_total ({KEY}, minutes, logs) {rows}'
        f' ON CONFLICT ({KEY}) DO UPDATE SET minutes = log_total.minutes + excluded.minutes,'
        f' logs = log_total.logs + excluded.logs'
    )


def _live(table, sign):
    return f'SELECT {KEY}, {sign}minutes AS minutes, {sign}1 AS logs FROM {table} WHERE deleted_at IS NULL'


def _grouped(*parts):
    return (
        f'SELECT {KEY}, SUM(minutes), SUM(logs) FROM ({" UNION ALL ".join(parts)}) AS changed'
        f' GROUP BY {KEY} HAVING SUM(minutes) <> 0 OR SUM(logs) <> 0 ORDER BY {KEY}'
    )


def _postgresql():
    changes = {
        'INSERT': _grouped(_live('new_rows', '')),
        'UPDATE': _grouped(_live('new_rows', ''), _live('old_rows', '-')),
        'DELETE': _grouped(_live('old_rows', '-')),
    }
    branches = ' ELS'.join(
        f"IF TG_OP = '{operation}' THEN {_upsert(rows)};\n" for operation, rows in changes.items()
    )
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {branches} END IF;
            RETURN NULL;
        END;
        $$
        """
    )
    tables = {
        'INSERT': 'NEW TABLE AS new_rows',
        'UPDATE': 'OLD TABLE AS old_rows NEW TABLE AS new_rows',
        'DELETE': 'OLD TABLE AS old_rows',
    }
    for operation, name in TRIGGERS.items():
        op.execute(
            f'CREATE TRIGGER {name} AFTER {operation} ON exchange_log'
            f' REFERENCING {tables[operation]}'
            f' FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()'
        )


def _sqlite():
    def one(row, sign):
        values = ', '.join(f'{row}.{column.strip()}' for column in KEY.split(','))
        # "WHERE" ends the SELECT, so SQLite reads ON CONFLICT as the upsert's.
        return _upsert(
            f'SELECT {values}, {sign}{row}.minutes, {sign}1 WHERE {row}.deleted_at IS NULL'
        )

    statements = {
        'INSERT': [one('NEW', '')],
        'UPDATE': [one('OLD', '-'), one('NEW', '')],
        'DELETE': [one('OLD', '-')],
    }
    for operation, name in TRIGGERS.items():
        # An update that changes nothing the totals hold (a description, a version)
        # does not touch them.
        of = f' OF {KEY}, minutes, deleted_at' if operation == 'UPDATE' else ''
        body = ' '.join(f'{statement};' for statement in statements[operation])
        op.execute(f'CREATE TRIGGER {name} AFTER {operation}{of} ON exchange_log BEGIN {body} END')


def upgrade():
    op.create_table(
        'log_total',
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('period_id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('minutes', sa.BigInteger(), nullable=False),
        sa.Column('logs', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            'department_id', 'period_id', 'owner_id', 'kind', 'status', name=op.f('pk_log_total')
        ),
        sqlite_with_rowid=False,
    )
    op.create_index(
        'ix_log_total_period_owner', 'log_total',
        ['period_id', 'owner_id', 'kind', 'department_id', 'status', 'minutes'],
    )
    op.execute(
        f'INSERT INTO log_total ({KEY}, minutes, logs)'
        f' SELECT {KEY}, SUM(minutes), COUNT(*) FROM exchange_log WHERE deleted_at IS NULL'
        f' GROUP BY {KEY}'
    )
    if op.get_bind().dialect.name == 'postgresql':
        _postgresql()
    else:
        _sqlite()
    op.drop_index(DEPARTMENT_SUMS, table_name='exchange_log')


def downgrade():
    op.create_index(DEPARTMENT_SUMS, 'exchange_log', DEPARTMENT_SUMS_COLUMNS,
                    sqlite_where=LIVE, postgresql_where=LIVE)
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for name in TRIGGERS.values():
        op.execute(f'DROP TRIGGER IF EXISTS {name}' + (' ON exchange_log' if postgresql else ''))
    if postgresql:
        op.execute(f'DROP FUNCTION IF EXISTS {PG_FUNCTION}()')
    op.drop_index('ix_log_total_period_owner', table_name='log_total')
    op.drop_table('log_total')
