"""topics have a German and an English name

Revision ID: 0015_topic_names
Revises: 0014_user_locale
Create Date: 2026-12-05 22:20:00

The one name there was is English: it becomes the English name. The demo's topics get their
German names here (the seed gives them to new databases); any other topic has none until an
officer gives it, and German readers see the English name meanwhile.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0015_topic_names'
down_revision = '0014_user_locale'
branch_labels = None
depends_on = None

# The demo seed's topics (competition/demo/names.py), copied: a migration must not change when
# the seed does.
GERMAN = {
    'energy': 'Energietechnik',
    'health': 'Gesundheitswirtschaft',
    'ict-media': 'IKT, Medien und Kreativwirtschaft',
    'photonics': 'Optik und Photonik',
    'mobility': 'Verkehr, Mobilität und Logistik',
    'hydrogen': 'Wasserstoff und Brennstoffzellen',
    'batteries': 'Batterien und Energiespeicher',
    'smart-grids': 'Intelligente Stromnetze',
    'medical-imaging': 'Medizinische Bildgebung',
    'digital-health': 'Digitale Gesundheit',
    'ai': 'Künstliche Intelligenz',
    'creative-tech': 'Kreativtechnologien und Medien',
    'quantum': 'Quantentechnologien',
    'lasers': 'Lasertechnik',
    'autonomous-driving': 'Autonomes Fahren',
    'logistics': 'Logistik und Lieferketten',
}


def upgrade():
    with op.batch_alter_table('topics', schema=None) as batch_op:
        batch_op.alter_column(
            'name', new_column_name='name_en', existing_type=sa.String(length=200),
            existing_nullable=False,
        )
        batch_op.add_column(
            sa.Column('name_de', sa.String(length=200), server_default='', nullable=False)
        )
    topics = sa.table('topics', sa.column('slug', sa.String), sa.column('name_de', sa.String))
    for slug, name in GERMAN.items():
        op.execute(topics.update().where(topics.c.slug == slug).values(name_de=name))


def downgrade():
    with op.batch_alter_table('topics', schema=None) as batch_op:
        batch_op.drop_column('name_de')
        batch_op.alter_column(
            'name_en', new_column_name='name', existing_type=sa.String(length=200),
            existing_nullable=False,
        )
