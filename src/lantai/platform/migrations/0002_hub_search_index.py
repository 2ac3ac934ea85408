"""The full-text index of the hub's catalogue entries (hub_index.py). On SQLite an FTS5 table
over ``grams`` with external content: hub_index.store_records writes its entries (FTS5 is 5–10
times slower when a trigger does), a trigger removes those of deleted rows. On PostgreSQL a
stored tsvector column ``grams_tsv`` with GIN indexes by id range (hub_index.ensure_pg_shards
adds the later ranges; dropping the column drops them all). Neither is a model field: only
hub_index.py reads them."""

from django.db import migrations

SQLITE_UP = [
    "CREATE VIRTUAL TABLE platform_hubrecord_fts USING fts5(grams, content='platform_hubrecord', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 0', prefix='1')",
    "CREATE TRIGGER platform_hubrecord_fts_ad AFTER DELETE ON platform_hubrecord BEGIN "
    "INSERT INTO platform_hubrecord_fts(platform_hubrecord_fts, rowid, grams) "
    "VALUES ('delete', old.id, old.grams); END",
    # entries already there (none in a fresh hub)
    "INSERT INTO platform_hubrecord_fts(platform_hubrecord_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS platform_hubrecord_fts_ai",
    "DROP TRIGGER IF EXISTS platform_hubrecord_fts_ad",
    "DROP TRIGGER IF EXISTS platform_hubrecord_fts_au",
    "DROP TABLE IF EXISTS platform_hubrecord_fts",
]
PG_UP = [
    "ALTER TABLE platform_hubrecord ADD COLUMN grams_tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, grams)) STORED",
    # GIN indexes by id range (hub_index.ensure_pg_shards makes the later ones)
    "CREATE INDEX platform_hubrec_grams_s0 ON platform_hubrecord USING gin (grams_tsv) "
    "WHERE id >= 0 AND id < 250000",
    "CREATE INDEX platform_hubrec_grams_s1 ON platform_hubrecord USING gin (grams_tsv) "
    "WHERE id >= 250000 AND id < 500000",
]
PG_DOWN = [
    "DROP INDEX IF EXISTS platform_hubrec_grams_s0",
    "DROP INDEX IF EXISTS platform_hubrec_grams_s1",
    "ALTER TABLE platform_hubrecord DROP COLUMN IF EXISTS grams_tsv",
]


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("platform", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_UP, "postgresql": PG_UP}),
            _run({"sqlite": SQLITE_DOWN, "postgresql": PG_DOWN}),
        )
    ]
