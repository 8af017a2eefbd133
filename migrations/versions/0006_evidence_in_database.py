"""Evidence files move into the database (table log_evidence).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

Each file of ``<instance>/evidence/`` becomes the row of its log in
``log_evidence``; a log whose file is missing keeps its row without evidence
(one line is printed for each). The files are left on disk: once the upgrade
has run, the folder is no longer read and may be removed. A downgrade writes
the files back into the folder.
"""
import hashlib
import secrets
from datetime import datetime, timezone
from pathlib import Path

from alembic import op
import sqlalchemy as sa
from flask import current_app


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# The file name extension each accepted media type was stored with.
EXTENSIONS = {
    'image/jpeg': 'jpg',
    'image/png': 'png',
    'image/gif': 'gif',
    'image/webp': 'webp',
    'image/heic': 'heic',
    'application/pdf': 'pdf',
}

log_table = sa.table(
    'exchange_log',
    sa.column('id', sa.Integer()),
    sa.column('evidence_file', sa.String()),
    sa.column('evidence_name', sa.String()),
    sa.column('evidence_type', sa.String()),
    sa.column('evidence_size', sa.Integer()),
)
evidence_table = sa.table(
    'log_evidence',
    sa.column('log_id', sa.Integer()),
    sa.column('content', sa.LargeBinary()),
    sa.column('sha256', sa.String()),
    sa.column('stored_at', sa.DateTime(timezone=True)),
)


def _folder() -> Path:
    return Path(current_app.instance_path) / 'evidence'


def upgrade():
    op.create_table('log_evidence',
    sa.Column('log_id', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['log_id'], ['exchange_log.id'], name=op.f('fk_log_evidence_log_id_exchange_log'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('log_id', name=op.f('pk_log_evidence'))
    )

    connection = op.get_bind()
    folder = _folder()
    rows = connection.execute(
        sa.select(log_table.c.id, log_table.c.evidence_file)
        .where(log_table.c.evidence_file.is_not(None))
        .order_by(log_table.c.id)
    ).all()
    moved = 0
    for log_id, stored in rows:
        path = folder / stored
        # Names were made by the app (random hex and an extension): anything else
        # is not read, so a row cannot point the upgrade at another file.
        if Path(stored).name != stored or not path.is_file():
            connection.execute(
                log_table.update()
                .where(log_table.c.id == log_id)
                .values(evidence_name=None, evidence_type=None, evidence_size=None)
            )
            print(f'Log {log_id}: its evidence file {path} is missing; the log now has no evidence.')
            continue
        content = path.read_bytes()
        connection.execute(
            evidence_table.insert().values(
                log_id=log_id,
                content=content,
                sha256=hashlib.sha256(content).hexdigest(),
                stored_at=datetime.fromtimestamp(path.stat().st_mtime, timezone.utc),
            )
        )
        connection.execute(
            log_table.update().where(log_table.c.id == log_id).values(evidence_size=len(content))
        )
        moved += 1

    with op.batch_alter_table('exchange_log', schema=None) as batch_op:
        batch_op.drop_column('evidence_file')

    if rows:
        print(
            f'Moved {moved} of {len(rows)} evidence files into the database. '
            f'{folder} is no longer used: it may be removed.'
        )


def downgrade():
    with op.batch_alter_table('exchange_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('evidence_file', sa.VARCHAR(length=80), nullable=True))

    connection = op.get_bind()
    folder = _folder()
    ids = connection.execute(
        sa.select(evidence_table.c.log_id).order_by(evidence_table.c.log_id)
    ).scalars().all()
    for log_id in ids:  # one file in memory at a time
        media_type, content = connection.execute(
            sa.select(log_table.c.evidence_type, evidence_table.c.content)
            .join(log_table, log_table.c.id == evidence_table.c.log_id)
            .where(evidence_table.c.log_id == log_id)
        ).one()
        folder.mkdir(parents=True, exist_ok=True)
        name = f'{secrets.token_hex(16)}.{EXTENSIONS.get(media_type, "bin")}'
        (folder / name).write_bytes(content)
        connection.execute(
            log_table.update().where(log_table.c.id == log_id).values(evidence_file=name)
        )
    if ids:
        print(f'Wrote {len(ids)} evidence files to {folder}.')

    op.drop_table('log_evidence')
