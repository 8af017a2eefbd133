"""Open Badges 3.0 credentials: the institution's signing keys, and the credential
of each issued honour with its position in the revocation status list.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

Honours issued before this revision get their credential when first asked for it.
"""
import sqlalchemy as sa
from alembic import op



# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'signing_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kid', sa.String(length=64), nullable=False),
        sa.Column('public_jwk', sa.Text(), nullable=False),
        sa.Column('private_key', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_key')),
        sa.UniqueConstraint('kid', name=op.f('uq_signing_key_kid')),
    )
    op.create_table(
        'award_credential',
        sa.Column('award_id', sa.Integer(), nullable=False),
        sa.Column('credential_id', sa.String(length=64), nullable=False),
        sa.Column('status_list', sa.Integer(), nullable=False),
        sa.Column('status_index', sa.Integer(), nullable=False),
        sa.Column('signing_key_id', sa.Integer(), nullable=False),
        sa.Column('token', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['award_id'], ['award.id'], name=op.f('fk_award_credential_award_id_award')),
        sa.ForeignKeyConstraint(['signing_key_id'], ['signing_key.id'], name=op.f('fk_award_credential_signing_key_id_signing_key')),
        sa.PrimaryKeyConstraint('award_id', name=op.f('pk_award_credential')),
        sa.UniqueConstraint('credential_id', name=op.f('uq_award_credential_credential_id')),
        sa.UniqueConstraint('status_list', 'status_index', name='uq_award_credential_status'),
    )


def downgrade():
    op.drop_table('award_credential')
    op.drop_table('signing_key')
