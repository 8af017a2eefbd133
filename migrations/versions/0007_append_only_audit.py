"""Append-only audit trails: award history, database triggers, deleted drafts kept.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

Awards get an audit trail of their own (``award_event``). The audit trails
(``log_event``, ``award_event``, ``account_event``) refuse every UPDATE and DELETE
through triggers, on SQLite and on PostgreSQL (and TRUNCATE there), whoever runs
the SQL. A deleted
draft stays as a tombstone (``exchange_log.deleted_at``/``deleted_by_id``) so
that its trail keeps the log it speaks of.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

APPEND_ONLY = ('log_event', 'award_event', 'account_event')
OPERATIONS = ('UPDATE', 'DELETE')
PG_FUNCTION = 'exchange_refuse_audit_change'


def _trigger(table, operation):
    return f'{table}_no_{operation.lower()}'


def _create_triggers():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            f"""
            CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is an append-only audit trail: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'restrict_violation';
            END;
            $$
            """
        )
        for table in APPEND_ONLY:
            for operation in OPERATIONS:
                op.execute(
                    f'CREATE TRIGGER {_trigger(table, operation)} BEFORE {operation} ON {table}'
                    f' FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()'
                )
            # TRUNCATE empties a table without deleting row by row: refused as well.
            op.execute(
                f'CREATE TRIGGER {_trigger(table, "TRUNCATE")} BEFORE TRUNCATE ON {table}'
                f' FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()'
            )
        return
    for table in APPEND_ONLY:
        for operation in OPERATIONS:
            op.execute(
                f'CREATE TRIGGER {_trigger(table, operation)} BEFORE {operation} ON {table}'
                f" BEGIN SELECT RAISE(ABORT, '{table} is an append-only audit trail:"
                f" {operation} refused'); END"
            )


def _drop_triggers():
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for table in APPEND_ONLY:
        for operation in OPERATIONS + (('TRUNCATE',) if postgresql else ()):
            on_table = f' ON {table}' if postgresql else ''
            op.execute(f'DROP TRIGGER IF EXISTS {_trigger(table, operation)}{on_table}')
    if postgresql:
        op.execute(f'DROP FUNCTION IF EXISTS {PG_FUNCTION}()')


def upgrade():
    with op.batch_alter_table('exchange_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deleted_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_exchange_log_deleted_by_id_user_account'), 'user_account', ['deleted_by_id'], ['id'])

    op.create_table('award_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('award_id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('holder_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('from_status', sa.String(length=10), nullable=True),
    sa.Column('to_status', sa.String(length=10), nullable=True),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("action IN ('propose', 'repropose', 'withdraw', 'approve', 'reject', 'issue', 'revoke')", name=op.f('ck_award_event_action')),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_award_event_actor_id_user_account')),
    sa.ForeignKeyConstraint(['holder_id'], ['user_account.id'], name=op.f('fk_award_event_holder_id_user_account')),
    sa.ForeignKeyConstraint(['round_id'], ['reward_round.id'], name=op.f('fk_award_event_round_id_reward_round')),
    sa.ForeignKeyConstraint(['rule_id'], ['reward_rule.id'], name=op.f('fk_award_event_rule_id_reward_rule')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_event'))
    )
    with op.batch_alter_table('award_event', schema=None) as batch_op:
        batch_op.create_index('ix_award_event_round_holder_rule', ['round_id', 'holder_id', 'rule_id'], unique=False)

    _create_triggers()


def downgrade():
    _drop_triggers()

    with op.batch_alter_table('award_event', schema=None) as batch_op:
        batch_op.drop_index('ix_award_event_round_holder_rule')

    op.drop_table('award_event')

    with op.batch_alter_table('exchange_log', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_exchange_log_deleted_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('deleted_by_id')
        batch_op.drop_column('deleted_at')
