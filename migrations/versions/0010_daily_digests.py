"""Daily digests: the record of digests sent, and each person's choice to get them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

``reminder_digest`` holds one row per person and college day whose digest was
sent (``flask --app exchange send-reminders``): nobody gets two on one day.
``user_account.email_digest`` is the "E-mail me a daily digest" box of the
account settings; everybody starts with it on.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reminder_digest',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_reminder_digest_user_id_user_account')),
    sa.PrimaryKeyConstraint('day', 'user_id', name=op.f('pk_reminder_digest'))
    )

    # Everybody starts with it on, existing people and rows written by plain SQL alike.
    # (Adding a column with a default does not rebuild the table on SQLite.)
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_digest', sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('email_digest')

    op.drop_table('reminder_digest')
