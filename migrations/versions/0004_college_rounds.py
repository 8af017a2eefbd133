"""College rules and rounds, bilingual rule names, early finalizes, staff numbers.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

Existing rules get their Chinese name where they still carry a default English
name, and the mentor honours become college rules (SPEC §4) in every period
that is open and has no finalized round yet; periods whose rewards are already
issued keep the rules they were decided under.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

DEFAULT_NAMES_ZH = {
    'Practice Certificate': '实践证书',
    'Practice Star': '实践之星',
    'Practice Allowance': '实践津贴',
    'Mentor Certificate': '导师证书',
    'Distinguished Mentor': '优秀导师',
    'Teaching Fee': '授课费',
}
COLLEGE_CODES = ('mentor-cert', 'mentor-distinguished')


def upgrade():
    with op.batch_alter_table('reward_round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.String(length=10), nullable=False, server_default='department'))
        batch_op.add_column(sa.Column('finalized_early', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.alter_column('department_id', existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_index('uq_reward_round_college_period', ['period_id'], unique=True, sqlite_where=sa.text("scope = 'college'"), postgresql_where=sa.text("scope = 'college'"))
        batch_op.create_check_constraint(op.f('ck_reward_round_scope'), "(scope = 'department' AND department_id IS NOT NULL) OR (scope = 'college' AND department_id IS NULL)")

    with op.batch_alter_table('reward_rule', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_zh', sa.String(length=120), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('scope', sa.String(length=10), nullable=False, server_default='department'))
        batch_op.create_check_constraint(op.f('ck_reward_rule_scope'), "scope IN ('department', 'college')")

    # The defaults were only there to fill existing rows: the app always writes these.
    for table, columns in (('reward_round', ('scope', 'finalized_early')), ('reward_rule', ('name_zh', 'scope'))):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, server_default=None)

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staff_number', sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_user_account_staff_number'), ['staff_number'])

    rule = sa.table('reward_rule', sa.column('name', sa.String), sa.column('name_zh', sa.String),
                    sa.column('code', sa.String), sa.column('scope', sa.String),
                    sa.column('period_id', sa.Integer))
    for english, chinese in DEFAULT_NAMES_ZH.items():
        op.execute(rule.update().where(rule.c.name == english).values(name_zh=chinese))
    finalized = sa.text(
        "SELECT 1 FROM reward_round WHERE reward_round.period_id = period.id"
        " AND reward_round.state = 'finalized'"
    )
    undecided_periods = sa.text(
        f"SELECT id FROM period WHERE state = 'open' AND NOT EXISTS ({finalized.text})"
    )
    op.execute(
        rule.update()
        .where(rule.c.code.in_(COLLEGE_CODES), rule.c.period_id.in_(undecided_periods))
        .values(scope='college')
    )


def downgrade():
    op.execute("DELETE FROM award WHERE round_id IN (SELECT id FROM reward_round WHERE scope = 'college')")
    op.execute("DELETE FROM reward_round WHERE scope = 'college'")

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_user_account_staff_number'), type_='unique')
        batch_op.drop_column('staff_number')

    with op.batch_alter_table('reward_rule', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_reward_rule_scope'), type_='check')
        batch_op.drop_column('scope')
        batch_op.drop_column('name_zh')

    with op.batch_alter_table('reward_round', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_reward_round_scope'), type_='check')
        batch_op.drop_index('uq_reward_round_college_period', sqlite_where=sa.text("scope = 'college'"), postgresql_where=sa.text("scope = 'college'"))
        batch_op.alter_column('department_id', existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column('finalized_early')
        batch_op.drop_column('scope')
