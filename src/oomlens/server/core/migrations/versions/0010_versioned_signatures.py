"""issues: signatures carry their scheme, ``leak/1:5b76f6fc70a784f4`` (analysis/signatures.py);
the issues folded before, under bare scheme-1 digests (and OOM causes under their kind), are
renamed to the same scheme-1 signature, so a report analysed now folds into them instead of
opening a twin

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# the issue kinds of the time -> the kind their signatures name (written out: a migration
# must not change when the code's tables do)
KINDS = {"leak": "leak", "library_leak": "library-leak", "big_object": "big-object",
         "class_cluster": "class-cluster", "oom_cause": "oom-cause"}


def upgrade() -> None:
    issues = sa.table("issues", sa.column("kind", sa.String), sa.column("signature", sa.String))
    for kind, named in KINDS.items():
        op.execute(issues.update()
                   .where(issues.c.kind == kind, ~issues.c.signature.like("%/%:%"))
                   .values(signature=sa.literal(f"{named}/1:") + issues.c.signature))


def downgrade() -> None:
    issues = sa.table("issues", sa.column("kind", sa.String), sa.column("signature", sa.String))
    for kind, named in KINDS.items():
        prefix = f"{named}/1:"
        op.execute(issues.update()
                   .where(issues.c.kind == kind, issues.c.signature.like(f"{prefix}%"))
                   .values(signature=sa.func.substr(issues.c.signature, len(prefix) + 1)))
