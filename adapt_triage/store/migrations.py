"""Named migrations, in the llm style: one list per owner, applied in order, each name
recorded in `_migrations` when it is applied (by `store/migrate.py`).

The store's own list is `MIGRATIONS` (`PRAGMA user_version` is how many of them are applied:
the store's schema version). Other owners add theirs: the duplicate index's tables,
`adapt_triage.dedup_migrations.MIGRATIONS`, are applied after the store's, and their names
are recorded as `dedup:<name>`. A database that records a name this version does not know
was written by a newer adapt-triage and is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from adapt_triage.stored import loads

Migration = Callable[["Database"], None]
MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    """Register a migration; they run in definition order, each in its own transaction."""
    MIGRATIONS.append(fn)
    return fn


@migration
def m001_papers_versions_sources(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE papers (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            abstract TEXT NOT NULL DEFAULT '',
            authors TEXT NOT NULL DEFAULT '[]',
            url TEXT,
            published TEXT,
            updated TEXT,
            arxiv_id TEXT,
            version INTEGER,
            doi TEXT,
            announce_type TEXT,
            categories TEXT NOT NULL DEFAULT '[]',
            source TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            duplicate_of TEXT REFERENCES papers(id),
            dup_reason TEXT,
            dup_score REAL,
            model_labels TEXT NOT NULL DEFAULT '[]',
            model_scores TEXT NOT NULL DEFAULT '{}',
            model_version TEXT,
            CHECK (duplicate_of IS NULL OR duplicate_of <> id)
        );
        CREATE INDEX papers_first_seen ON papers(first_seen);
        CREATE INDEX papers_duplicate_of ON papers(duplicate_of);
        CREATE INDEX papers_doi ON papers(doi);
        CREATE TABLE versions (
            paper_id TEXT NOT NULL REFERENCES papers(id),
            version INTEGER NOT NULL,
            source TEXT NOT NULL,
            seen_at TEXT NOT NULL,
            title TEXT NOT NULL,
            abstract TEXT NOT NULL DEFAULT '',
            updated TEXT,
            announce_type TEXT,
            PRIMARY KEY (paper_id, version)
        );
        CREATE TABLE paper_sources (
            paper_id TEXT NOT NULL REFERENCES papers(id),
            source TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            PRIMARY KEY (paper_id, source)
        );
        CREATE TABLE sources (
            url TEXT PRIMARY KEY,
            name TEXT,
            kind TEXT NOT NULL DEFAULT 'file',
            subscribed INTEGER NOT NULL DEFAULT 0 CHECK (subscribed IN (0, 1)),
            added_at TEXT NOT NULL,
            etag TEXT,
            last_modified TEXT,
            last_fetch_at TEXT,
            last_status TEXT CHECK (last_status IS NULL
                OR last_status IN ('ok', 'not-modified', 'error', 'empty')),
            last_error TEXT,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            last_item_count INTEGER,
            last_new INTEGER,
            feed_date TEXT,
            skip_days TEXT NOT NULL DEFAULT '[]'
        );
        """
    )
    # Content table FTS5 in sqlite-utils' layout (Datasette and `sqlite-utils search` find it);
    # the update trigger fires only when the indexed text changes, not on score updates.
    db.table("papers").enable_fts(["title", "abstract"], tokenize="porter", create_triggers=False)
    db.executescript(
        """
        CREATE TRIGGER papers_ai AFTER INSERT ON papers BEGIN
          INSERT INTO papers_fts (rowid, title, abstract)
            VALUES (new.rowid, new.title, new.abstract);
        END;
        CREATE TRIGGER papers_ad AFTER DELETE ON papers BEGIN
          INSERT INTO papers_fts (papers_fts, rowid, title, abstract)
            VALUES ('delete', old.rowid, old.title, old.abstract);
        END;
        CREATE TRIGGER papers_au AFTER UPDATE OF title, abstract ON papers BEGIN
          INSERT INTO papers_fts (papers_fts, rowid, title, abstract)
            VALUES ('delete', old.rowid, old.title, old.abstract);
          INSERT INTO papers_fts (rowid, title, abstract)
            VALUES (new.rowid, new.title, new.abstract);
        END;
        """
    )


@migration
def m002_user_labels_categories_digests_runs(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE user_labels (
            paper_id TEXT NOT NULL REFERENCES papers(id),
            label TEXT NOT NULL,
            position INTEGER NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (paper_id, label)
        );
        CREATE TABLE categories (
            slug TEXT PRIMARY KEY,
            description TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        );
        CREATE TABLE digests (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            since TEXT,
            count INTEGER NOT NULL DEFAULT 0
        );
        ALTER TABLE papers ADD COLUMN shown_in_digest INTEGER REFERENCES digests(id);
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            command TEXT NOT NULL DEFAULT '',
            pid INTEGER,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT,
            summary TEXT
        );
        """
    )


@migration
def m003_paper_marks(db: Database) -> None:
    """Read and starred states (`mark`, `list --starred`, `digest --hide-read`)."""
    db.executescript(
        """
        CREATE TABLE paper_marks (
            paper_id TEXT PRIMARY KEY REFERENCES papers(id),
            read_at TEXT,
            starred_at TEXT
        );
        """
    )


@migration
def m004_browse_views(db: Database) -> None:
    """Views for sqlite3 and Datasette users: each paper with its final labels (the user's
    winning over the model's), one row per label, the duplicates, and the sources."""
    db.executescript(
        """
        CREATE VIEW browse_papers AS
        SELECT p.id, p.title,
            CASE WHEN EXISTS (SELECT 1 FROM user_labels u WHERE u.paper_id = p.id)
                THEN (SELECT json_group_array(label) FROM (SELECT label FROM user_labels u
                      WHERE u.paper_id = p.id ORDER BY u.position))
                ELSE p.model_labels END AS labels,
            CASE WHEN EXISTS (SELECT 1 FROM user_labels u WHERE u.paper_id = p.id)
                THEN 'user' ELSE 'model' END AS labels_from,
            COALESCE((SELECT label FROM user_labels u WHERE u.paper_id = p.id
                      ORDER BY u.position LIMIT 1), json_extract(p.model_labels, '$[0]'))
                AS primary_label,
            p.authors, p.url, p.published, p.first_seen, p.arxiv_id, p.version, p.doi,
            p.announce_type, p.source, p.duplicate_of,
            (SELECT count(*) FROM papers d WHERE d.duplicate_of = p.id) AS duplicates,
            (SELECT count(*) FROM paper_sources s WHERE s.paper_id = p.id) AS sources,
            m.starred_at IS NOT NULL AS starred,
            m.read_at IS NOT NULL AS read
        FROM papers p LEFT JOIN paper_marks m ON m.paper_id = p.id;

        CREATE VIEW browse_labels AS
        SELECT u.paper_id, p.title, u.label, u.position, 'user' AS labels_from,
            json_extract(p.model_scores, '$."' || u.label || '"') AS model_score
        FROM user_labels u JOIN papers p ON p.id = u.paper_id
        UNION ALL
        SELECT p.id, p.title, m.value, CAST(m.key AS INTEGER), 'model',
            json_extract(p.model_scores, '$."' || m.value || '"')
        FROM papers p, json_each(p.model_labels) m
        WHERE NOT EXISTS (SELECT 1 FROM user_labels u WHERE u.paper_id = p.id);

        CREATE VIEW browse_duplicates AS
        SELECT c.id AS canonical_id, c.title AS canonical_title,
            d.id AS duplicate_id, d.title AS duplicate_title, d.source AS duplicate_source,
            d.dup_reason AS reason, d.dup_score AS score, d.first_seen AS duplicate_first_seen
        FROM papers d JOIN papers c ON c.id = d.duplicate_of;

        CREATE VIEW browse_sources AS
        SELECT ps.paper_id, p.title, ps.source, s.name AS source_name, s.kind AS source_kind,
            ps.first_seen
        FROM paper_sources ps JOIN papers p ON p.id = ps.paper_id
        LEFT JOIN sources s ON s.url = ps.source;
        """
    )


@migration
def m005_backfill_progress(db: Database) -> None:
    """Where each backfill (one arXiv API query over a date window) got to, so that a run
    that was killed continues with the next page (also when it is run again with a later
    `until`, as `--until` defaults to today: the results are oldest first)."""
    db.executescript(
        """
        CREATE TABLE backfill_progress (
            query TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            since TEXT NOT NULL,
            until TEXT NOT NULL,
            next_start INTEGER NOT NULL DEFAULT 0,
            total INTEGER,
            started_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            finished_at TEXT
        );
        """
    )


@migration
def m006_search_authors(db: Database) -> None:
    """Authors join title and abstract in the full-text index (`search 'Lovelace'`)."""
    db.executescript(
        """
        DROP TRIGGER IF EXISTS papers_ai;
        DROP TRIGGER IF EXISTS papers_ad;
        DROP TRIGGER IF EXISTS papers_au;
        DROP TABLE IF EXISTS papers_fts;
        CREATE VIRTUAL TABLE [papers_fts] USING FTS5 (
            [title], [abstract], [authors], tokenize='porter', content=[papers]
        );
        INSERT INTO papers_fts (papers_fts) VALUES ('rebuild');
        CREATE TRIGGER papers_ai AFTER INSERT ON papers BEGIN
          INSERT INTO papers_fts (rowid, title, abstract, authors)
            VALUES (new.rowid, new.title, new.abstract, new.authors);
        END;
        CREATE TRIGGER papers_ad AFTER DELETE ON papers BEGIN
          INSERT INTO papers_fts (papers_fts, rowid, title, abstract, authors)
            VALUES ('delete', old.rowid, old.title, old.abstract, old.authors);
        END;
        CREATE TRIGGER papers_au AFTER UPDATE OF title, abstract, authors ON papers BEGIN
          INSERT INTO papers_fts (papers_fts, rowid, title, abstract, authors)
            VALUES ('delete', old.rowid, old.title, old.abstract, old.authors);
          INSERT INTO papers_fts (rowid, title, abstract, authors)
            VALUES (new.rowid, new.title, new.abstract, new.authors);
        END;
        """
    )


@migration
def m007_ingest_pending(db: Database) -> None:
    """The papers whose duplicate-index entries an ingest wrote in a committed chunk but has
    not folded into `papers` yet (see adapt_triage.store.staging): a run killed in between
    leaves them here, and the next ingest undoes those entries."""
    db.executescript(
        """
        CREATE TABLE ingest_pending (
            paper_id TEXT PRIMARY KEY,
            existed INTEGER NOT NULL DEFAULT 0
        );
        """
    )


def _effective_labels_sql(paper: str) -> str:
    """Statements that rewrite `paper_labels` for one paper (`paper` is an SQL expression
    for its id): the user's labels when it has any, else the model's."""
    return f"""
          DELETE FROM paper_labels WHERE paper_id = {paper};
          INSERT OR IGNORE INTO paper_labels (paper_id, label, first_seen, published, seq)
            SELECT p.id, u.label, p.first_seen, p.published, p.rowid
            FROM user_labels u JOIN papers p ON p.id = u.paper_id WHERE u.paper_id = {paper};
          INSERT OR IGNORE INTO paper_labels (paper_id, label, first_seen, published, seq)
            SELECT p.id, m.value, p.first_seen, p.published, p.rowid
            FROM papers p, json_each(CASE WHEN json_valid(p.model_labels)
                AND json_type(p.model_labels) = 'array' THEN p.model_labels ELSE '[]' END) m
            WHERE p.id = {paper} AND m.type = 'text'
              AND NOT EXISTS (SELECT 1 FROM user_labels u WHERE u.paper_id = {paper});"""


@migration
def m008_query_indexes(db: Database) -> None:
    """What bounded questions need so that they never scan the history (issue 12):

    - `papers_canonical_newest` / `papers_unshown_newest`: partial indexes in `list` order
      (first_seen, published newest first; ties in rowid order) over the canonical papers,
      and over those not shown in a digest yet (what a plain `digest` reads). They start
      with the columns of their WHERE (always NULL there), so that a count reads the index
      alone.
    - `papers_duplicate_of` holds the duplicates only (`duplicate_of = ?` still uses it, in
      first-seen order), so that the planner never takes it for `duplicate_of IS NULL`,
      which is nearly every paper.
    - `user_labels_order`: a paper's labels in the user's order without a sort.
    - `papers_model_version`: counting the papers another model scored is a range scan.
    - `paper_labels`: one row per (paper, effective label): the user's labels when the
      paper has any, else the model's, with the paper's sort key; kept in step by triggers
      on `papers` and `user_labels`, and indexed by (label, sort key) so that
      `list --category X --limit 20` reads about 20 entries. The JSON columns stay.
    """
    db.executescript(
        """
        DROP INDEX IF EXISTS papers_duplicate_of;
        CREATE INDEX papers_duplicate_of ON papers (duplicate_of, first_seen)
            WHERE duplicate_of IS NOT NULL;
        CREATE INDEX papers_canonical_newest
            ON papers (duplicate_of, first_seen DESC, published DESC)
            WHERE duplicate_of IS NULL;
        CREATE INDEX papers_unshown_newest
            ON papers (duplicate_of, shown_in_digest, first_seen DESC, published DESC)
            WHERE duplicate_of IS NULL AND shown_in_digest IS NULL;
        CREATE INDEX papers_model_version ON papers (model_version);
        CREATE INDEX user_labels_order ON user_labels (paper_id, position);
        CREATE TABLE paper_labels (
            paper_id TEXT NOT NULL,
            label TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            published TEXT,
            seq INTEGER NOT NULL,
            PRIMARY KEY (paper_id, label)
        ) WITHOUT ROWID;
        CREATE INDEX paper_labels_newest
            ON paper_labels (label, first_seen DESC, published DESC, seq);
        INSERT INTO paper_labels (paper_id, label, first_seen, published, seq)
            SELECT DISTINCT u.paper_id, u.label, p.first_seen, p.published, p.rowid
            FROM user_labels u JOIN papers p ON p.id = u.paper_id;
        INSERT OR IGNORE INTO paper_labels (paper_id, label, first_seen, published, seq)
            SELECT p.id, m.value, p.first_seen, p.published, p.rowid
            FROM papers p, json_each(CASE WHEN json_valid(p.model_labels)
                AND json_type(p.model_labels) = 'array' THEN p.model_labels ELSE '[]' END) m
            WHERE m.type = 'text'
              AND NOT EXISTS (SELECT 1 FROM user_labels u WHERE u.paper_id = p.id);
        """
    )
    db.executescript(
        f"""
        CREATE TRIGGER paper_labels_paper_ai AFTER INSERT ON papers BEGIN
          {_effective_labels_sql("new.id")}
        END;
        CREATE TRIGGER paper_labels_paper_au AFTER UPDATE OF model_labels ON papers
        WHEN old.model_labels IS NOT new.model_labels BEGIN
          {_effective_labels_sql("new.id")}
        END;
        CREATE TRIGGER paper_labels_paper_key AFTER UPDATE OF first_seen, published ON papers
        WHEN old.first_seen IS NOT new.first_seen OR old.published IS NOT new.published BEGIN
          UPDATE paper_labels SET first_seen = new.first_seen, published = new.published
            WHERE paper_id = new.id;
        END;
        CREATE TRIGGER paper_labels_paper_ad AFTER DELETE ON papers BEGIN
          DELETE FROM paper_labels WHERE paper_id = old.id;
        END;
        CREATE TRIGGER paper_labels_user_ai AFTER INSERT ON user_labels BEGIN
          {_effective_labels_sql("new.paper_id")}
        END;
        CREATE TRIGGER paper_labels_user_ad AFTER DELETE ON user_labels BEGIN
          {_effective_labels_sql("old.paper_id")}
        END;
        CREATE TRIGGER paper_labels_user_au AFTER UPDATE OF paper_id, label ON user_labels BEGIN
          {_effective_labels_sql("old.paper_id")}
          {_effective_labels_sql("new.paper_id")}
        END;
        """
    )


@migration
def m009_versions_keep_what_changed(db: Database) -> None:
    """A version's title and abstract are kept only where they differ from the paper's
    current text (NULL otherwise): the first version of a paper no longer stores its text
    twice. The `version_texts` view shows every version with its whole text."""
    for statement in (
        """CREATE TABLE versions_new (
            paper_id TEXT NOT NULL REFERENCES papers(id),
            version INTEGER NOT NULL,
            source TEXT NOT NULL,
            seen_at TEXT NOT NULL,
            title TEXT,
            abstract TEXT,
            updated TEXT,
            announce_type TEXT,
            PRIMARY KEY (paper_id, version)
        ) WITHOUT ROWID""",
        """INSERT INTO versions_new SELECT v.paper_id, v.version, v.source, v.seen_at,
            CASE WHEN v.title = p.title THEN NULL ELSE v.title END,
            CASE WHEN v.abstract = p.abstract THEN NULL ELSE v.abstract END,
            v.updated, v.announce_type
            FROM versions v LEFT JOIN papers p ON p.id = v.paper_id""",
        "DROP TABLE versions",
        "ALTER TABLE versions_new RENAME TO versions",
        """CREATE VIEW version_texts AS
            SELECT v.paper_id, v.version, v.source, v.seen_at,
                coalesce(v.title, p.title) AS title,
                coalesce(v.abstract, p.abstract, '') AS abstract,
                v.updated, v.announce_type
            FROM versions v JOIN papers p ON p.id = v.paper_id""",
    ):
        db.execute(statement)


# The browse_labels view of m004, with each label's score read by `scorepack.score_sql`.
def _browse_labels_sql() -> str:
    from adapt_triage.scorepack import score_sql

    return f"""
        CREATE VIEW browse_labels AS
        SELECT u.paper_id, p.title, u.label, u.position, 'user' AS labels_from,
            {score_sql("p.model_scores", "u.label")} AS model_score
        FROM user_labels u JOIN papers p ON p.id = u.paper_id
        UNION ALL
        SELECT p.id, p.title, m.value, CAST(m.key AS INTEGER), 'model',
            {score_sql("p.model_scores", "m.value")}
        FROM papers p, json_each(p.model_labels) m
        WHERE NOT EXISTS (SELECT 1 FROM user_labels u WHERE u.paper_id = p.id);"""


@migration
def m010_compact_model_scores(db: Database) -> None:
    """`papers.model_scores` in the compact form of `adapt_triage.scorepack`: the
    category list once in `score_keys`, each row a JSON array of its id and the scores
    times 10,000 (410 -> 50 bytes a paper). Existing rows are converted (a row whose
    scores have more than four decimals keeps its JSON object, which is still read);
    `browse_labels` reads the new form, and `browse_scores` shows every score of every
    paper, one row each, for sqlite3 and Datasette users."""
    from adapt_triage.scorepack import SCALE, ScoreKeys

    conn = db.conn
    conn.execute("CREATE TABLE score_keys (id INTEGER PRIMARY KEY, keys TEXT NOT NULL UNIQUE)")
    keys = ScoreKeys(conn)
    last = 0
    while True:
        rows = conn.execute(
            "SELECT rowid, model_scores FROM papers WHERE rowid > ? "
            "AND model_scores LIKE '{%' ORDER BY rowid LIMIT 5000",
            (last,),
        ).fetchall()
        if not rows:
            break
        last = rows[-1][0]
        updates = []
        for rowid, text in rows:
            scores = loads(text, None)
            if isinstance(scores, dict) and scores:
                packed = keys.text(scores)
                if packed != text:
                    updates.append((packed, rowid))
        conn.executemany("UPDATE papers SET model_scores = ? WHERE rowid = ?", updates)
    conn.execute("DROP VIEW IF EXISTS browse_labels")
    conn.execute(_browse_labels_sql())
    conn.execute(
        f"""CREATE VIEW browse_scores AS
        SELECT p.id AS paper_id, p.title, e.value AS category,
            json_extract(p.model_scores, '$[' || (e.key + 1) || ']') / {SCALE:d}.0 AS score
        FROM papers p JOIN score_keys k
            ON k.id = CAST(substr(p.model_scores, 2) AS INTEGER), json_each(k.keys) e
        WHERE json_valid(p.model_scores) AND json_type(p.model_scores) = 'array'
        UNION ALL
        SELECT p.id, p.title, e.key, e.value
        FROM papers p, json_each(p.model_scores) e
        WHERE json_valid(p.model_scores) AND json_type(p.model_scores) = 'object'"""
    )


@migration
def m011_paper_sources_by_id(db: Database) -> None:
    """`paper_sources` names each source once: its rows move to `paper_source_ids`
    (WITHOUT ROWID, keyed by paper and a small source id; `source_keys` holds each source's
    text once), and `paper_sources` becomes a view with the same columns, so every reader
    (and an INSERT, through its trigger) works as before. 185 -> 50 bytes a paper: the
    source text was in every row and again in the key's index."""
    db.executescript(
        """
        CREATE TABLE source_keys (id INTEGER PRIMARY KEY, source TEXT NOT NULL UNIQUE);
        INSERT INTO source_keys (source)
            SELECT source FROM paper_sources GROUP BY source ORDER BY min(rowid);
        CREATE TABLE paper_source_ids (
            paper_id TEXT NOT NULL REFERENCES papers(id),
            source_id INTEGER NOT NULL REFERENCES source_keys(id),
            first_seen TEXT NOT NULL,
            PRIMARY KEY (paper_id, source_id)
        ) WITHOUT ROWID;
        INSERT INTO paper_source_ids (paper_id, source_id, first_seen)
            SELECT ps.paper_id, k.id, ps.first_seen
            FROM paper_sources ps JOIN source_keys k ON k.source = ps.source ORDER BY ps.rowid;
        DROP TABLE paper_sources;
        CREATE VIEW paper_sources AS
            SELECT r.paper_id, k.source, r.first_seen, r.source_id AS rowid
            FROM paper_source_ids r JOIN source_keys k ON k.id = r.source_id;
        CREATE TRIGGER paper_sources_insert INSTEAD OF INSERT ON paper_sources BEGIN
            INSERT OR IGNORE INTO source_keys (source) VALUES (new.source);
            INSERT OR IGNORE INTO paper_source_ids (paper_id, source_id, first_seen)
                VALUES (new.paper_id, (SELECT id FROM source_keys WHERE source = new.source),
                        new.first_seen);
        END;
        CREATE TRIGGER paper_sources_delete INSTEAD OF DELETE ON paper_sources BEGIN
            DELETE FROM paper_source_ids WHERE paper_id = old.paper_id
                AND source_id = (SELECT id FROM source_keys WHERE source = old.source);
        END;
        """
    )


# The paper_sources view of m011, whose rows read a NULL first_seen as the paper's own.
_PAPER_SOURCES_SQL = (
    """CREATE VIEW paper_sources AS
        SELECT r.paper_id, k.source, coalesce(r.first_seen, p.first_seen) AS first_seen,
            r.source_id AS rowid
        FROM paper_source_ids r JOIN source_keys k ON k.id = r.source_id
        LEFT JOIN papers p ON p.id = r.paper_id""",
    """CREATE TRIGGER paper_sources_insert INSTEAD OF INSERT ON paper_sources BEGIN
        INSERT OR IGNORE INTO source_keys (source) VALUES (new.source);
        INSERT OR IGNORE INTO paper_source_ids (paper_id, source_id, first_seen)
            VALUES (new.paper_id, (SELECT id FROM source_keys WHERE source = new.source),
                    NULLIF(new.first_seen,
                           (SELECT first_seen FROM papers WHERE id = new.paper_id)));
    END""",
    """CREATE TRIGGER paper_sources_delete INSTEAD OF DELETE ON paper_sources BEGIN
        DELETE FROM paper_source_ids WHERE paper_id = old.paper_id
            AND source_id = (SELECT id FROM source_keys WHERE source = old.source);
    END""",
)


@migration
def m012_first_rows_share_the_papers_fields(db: Database) -> None:
    """The rows a paper arrives with no longer repeat its own fields: a version's `source`
    and `seen_at` are NULL while they are the paper's `source` and `first_seen`, and a
    source's `first_seen` (`paper_source_ids`) is NULL while it is the paper's (~75 of
    the ~200 bytes these rows took a paper). The `version_texts` and `paper_sources`
    views show them whole, as before. A NULL reads as the paper's current value: the
    store never changes a paper's source or first_seen."""
    for statement in (
        """CREATE TABLE versions_new (
            paper_id TEXT NOT NULL REFERENCES papers(id),
            version INTEGER NOT NULL,
            source TEXT,
            seen_at TEXT,
            title TEXT,
            abstract TEXT,
            updated TEXT,
            announce_type TEXT,
            PRIMARY KEY (paper_id, version)
        ) WITHOUT ROWID""",
        """INSERT INTO versions_new SELECT v.paper_id, v.version,
            CASE WHEN v.source = p.source THEN NULL ELSE v.source END,
            CASE WHEN v.seen_at = p.first_seen THEN NULL ELSE v.seen_at END,
            v.title, v.abstract, v.updated, v.announce_type
            FROM versions v LEFT JOIN papers p ON p.id = v.paper_id""",
        """CREATE TABLE paper_source_ids_new (
            paper_id TEXT NOT NULL REFERENCES papers(id),
            source_id INTEGER NOT NULL REFERENCES source_keys(id),
            first_seen TEXT,
            PRIMARY KEY (paper_id, source_id)
        ) WITHOUT ROWID""",
        """INSERT INTO paper_source_ids_new SELECT r.paper_id, r.source_id,
            CASE WHEN r.first_seen = p.first_seen THEN NULL ELSE r.first_seen END
            FROM paper_source_ids r LEFT JOIN papers p ON p.id = r.paper_id""",
        "DROP VIEW version_texts",
        "DROP VIEW paper_sources",  # and its triggers
        "DROP TABLE versions",
        "DROP TABLE paper_source_ids",
    ):
        db.execute(statement)
    # browse_sources names paper_sources, made again below: a rename that checks every
    # view would refuse it in between
    db.execute("PRAGMA legacy_alter_table = ON")
    try:
        db.execute("ALTER TABLE versions_new RENAME TO versions")
        db.execute("ALTER TABLE paper_source_ids_new RENAME TO paper_source_ids")
    finally:
        db.execute("PRAGMA legacy_alter_table = OFF")
    for statement in (
        """CREATE VIEW version_texts AS
            SELECT v.paper_id, v.version, coalesce(v.source, p.source) AS source,
                coalesce(v.seen_at, p.first_seen) AS seen_at,
                coalesce(v.title, p.title) AS title,
                coalesce(v.abstract, p.abstract, '') AS abstract,
                v.updated, v.announce_type
            FROM versions v JOIN papers p ON p.id = v.paper_id""",
        *_PAPER_SOURCES_SQL,
    ):
        db.execute(statement)


def _effective_labels_by_seq_sql(paper: str, seq: str) -> str:
    """`_effective_labels_sql` for m013's `paper_labels`, whose rows name their paper by
    its rowid: `paper` is an SQL expression for the paper's id, `seq` for its rowid."""
    return f"""
          DELETE FROM paper_labels WHERE seq = {seq};
          INSERT OR IGNORE INTO paper_labels (seq, label, first_seen, published)
            SELECT p.rowid, u.label, p.first_seen, p.published
            FROM user_labels u JOIN papers p ON p.id = u.paper_id WHERE u.paper_id = {paper};
          INSERT OR IGNORE INTO paper_labels (seq, label, first_seen, published)
            SELECT p.rowid, m.value, p.first_seen, p.published
            FROM papers p, json_each(CASE WHEN json_valid(p.model_labels)
                AND json_type(p.model_labels) = 'array' THEN p.model_labels ELSE '[]' END) m
            WHERE p.id = {paper} AND m.type = 'text'
              AND NOT EXISTS (SELECT 1 FROM user_labels u WHERE u.paper_id = {paper});"""


_ROWID_OF = "(SELECT rowid FROM papers WHERE id = {})"


@migration
def m013_paper_labels_by_rowid(db: Database) -> None:
    """`paper_labels` names a paper by its `papers` rowid (`seq`, which it held already as
    the sort key's last part) instead of also by its id: the key is (seq, label), and
    `paper_labels_newest` (label, first_seen DESC, published DESC, seq) holds the whole
    key without a copy of the id (176 -> ~140 bytes a paper). The triggers that keep it
    in step are the same rules; readers join it on `papers.rowid`."""
    for name in ("paper_ai", "paper_au", "paper_key", "paper_ad", "user_ai", "user_ad", "user_au"):
        db.execute(f"DROP TRIGGER IF EXISTS paper_labels_{name}")
    for statement in (
        """CREATE TABLE paper_labels_new (
            seq INTEGER NOT NULL,
            label TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            published TEXT,
            PRIMARY KEY (seq, label)
        ) WITHOUT ROWID""",
        """INSERT OR IGNORE INTO paper_labels_new (seq, label, first_seen, published)
            SELECT p.rowid, l.label, l.first_seen, l.published
            FROM paper_labels l JOIN papers p ON p.id = l.paper_id ORDER BY p.rowid, l.label""",
        "DROP TABLE paper_labels",
        "ALTER TABLE paper_labels_new RENAME TO paper_labels",
        """CREATE INDEX paper_labels_newest
            ON paper_labels (label, first_seen DESC, published DESC, seq)""",
        f"""CREATE TRIGGER paper_labels_paper_ai AFTER INSERT ON papers BEGIN
          {_effective_labels_by_seq_sql("new.id", "new.rowid")}
        END""",
        f"""CREATE TRIGGER paper_labels_paper_au AFTER UPDATE OF model_labels ON papers
        WHEN old.model_labels IS NOT new.model_labels BEGIN
          {_effective_labels_by_seq_sql("new.id", "new.rowid")}
        END""",
        """CREATE TRIGGER paper_labels_paper_key AFTER UPDATE OF first_seen, published ON papers
        WHEN old.first_seen IS NOT new.first_seen OR old.published IS NOT new.published BEGIN
          UPDATE paper_labels SET first_seen = new.first_seen, published = new.published
            WHERE seq = new.rowid;
        END""",
        """CREATE TRIGGER paper_labels_paper_ad AFTER DELETE ON papers BEGIN
          DELETE FROM paper_labels WHERE seq = old.rowid;
        END""",
        f"""CREATE TRIGGER paper_labels_user_ai AFTER INSERT ON user_labels BEGIN
          {_effective_labels_by_seq_sql("new.paper_id", _ROWID_OF.format("new.paper_id"))}
        END""",
        f"""CREATE TRIGGER paper_labels_user_ad AFTER DELETE ON user_labels BEGIN
          {_effective_labels_by_seq_sql("old.paper_id", _ROWID_OF.format("old.paper_id"))}
        END""",
        f"""CREATE TRIGGER paper_labels_user_au AFTER UPDATE OF paper_id, label ON user_labels
        BEGIN
          {_effective_labels_by_seq_sql("old.paper_id", _ROWID_OF.format("old.paper_id"))}
          {_effective_labels_by_seq_sql("new.paper_id", _ROWID_OF.format("new.paper_id"))}
        END""",
    ):
        db.execute(statement)


def paper_source_sql(alias: str) -> str:
    """A `papers` row's source as text (`alias` names the row): since m014 a new row holds
    its source's id in `source_id` (its `source` is ''); an older row its text."""
    return (
        f"coalesce((SELECT k.source FROM source_keys k WHERE k.id = {alias}.source_id), "
        f"{alias}.source)"
    )


@migration
def m014_papers_source_by_id(db: Database) -> None:
    """A paper names the source it came from by its id in `source_keys` (the new column
    `source_id`; `source` is '' then), as `paper_source_ids` does since m011: the text
    was in every row (~50 bytes a paper). The rows stored before keep their text (nothing
    is rewritten); every reader asks `paper_source_sql`, and the views that show a
    paper's source (`browse_papers`, `browse_duplicates`, `version_texts`) show the text
    as before."""
    p, d = paper_source_sql("p"), paper_source_sql("d")
    for statement in (
        "ALTER TABLE papers ADD COLUMN source_id INTEGER REFERENCES source_keys(id)",
        "DROP VIEW browse_papers",
        "DROP VIEW browse_duplicates",
        "DROP VIEW version_texts",
        f"""CREATE VIEW browse_papers AS
        SELECT p.id, p.title,
            CASE WHEN EXISTS (SELECT 1 FROM user_labels u WHERE u.paper_id = p.id)
                THEN (SELECT json_group_array(label) FROM (SELECT label FROM user_labels u
                      WHERE u.paper_id = p.id ORDER BY u.position))
                ELSE p.model_labels END AS labels,
            CASE WHEN EXISTS (SELECT 1 FROM user_labels u WHERE u.paper_id = p.id)
                THEN 'user' ELSE 'model' END AS labels_from,
            COALESCE((SELECT label FROM user_labels u WHERE u.paper_id = p.id
                      ORDER BY u.position LIMIT 1), json_extract(p.model_labels, '$[0]'))
                AS primary_label,
            p.authors, p.url, p.published, p.first_seen, p.arxiv_id, p.version, p.doi,
            p.announce_type, {p} AS source, p.duplicate_of,
            (SELECT count(*) FROM papers d WHERE d.duplicate_of = p.id) AS duplicates,
            (SELECT count(*) FROM paper_sources s WHERE s.paper_id = p.id) AS sources,
            m.starred_at IS NOT NULL AS starred,
            m.read_at IS NOT NULL AS read
        FROM papers p LEFT JOIN paper_marks m ON m.paper_id = p.id""",
        f"""CREATE VIEW browse_duplicates AS
        SELECT c.id AS canonical_id, c.title AS canonical_title,
            d.id AS duplicate_id, d.title AS duplicate_title, {d} AS duplicate_source,
            d.dup_reason AS reason, d.dup_score AS score, d.first_seen AS duplicate_first_seen
        FROM papers d JOIN papers c ON c.id = d.duplicate_of""",
        f"""CREATE VIEW version_texts AS
            SELECT v.paper_id, v.version, coalesce(v.source, {p}) AS source,
                coalesce(v.seen_at, p.first_seen) AS seen_at,
                coalesce(v.title, p.title) AS title,
                coalesce(v.abstract, p.abstract, '') AS abstract,
                v.updated, v.announce_type
            FROM versions v JOIN papers p ON p.id = v.paper_id""",
    ):
        db.execute(statement)


# The row of the version a paper holds now while `versions` has none for it (m015).
_ARRIVAL_VERSION_SQL = f"""
    SELECT p.id AS paper_id, coalesce(p.version, 0) AS version,
        {paper_source_sql("p")} AS source, p.first_seen AS seen_at, p.title AS title,
        coalesce(p.abstract, '') AS abstract, p.updated AS updated,
        p.announce_type AS announce_type
    FROM papers p
    WHERE NOT EXISTS (SELECT 1 FROM versions v
                      WHERE v.paper_id = p.id AND v.version = coalesce(p.version, 0))"""


@migration
def m015_arrival_versions_implicit(db: Database) -> None:
    """A paper's `versions` row for the version it holds is not stored while it would say
    nothing the paper does not (its own source, first_seen, text, updated and announce
    type): `version_texts` shows that row from `papers` (a paper arriving, ~55 bytes).
    The ingest writes the row out, as it was, before it changes any of those fields of
    the paper (a new version, a filled-in field). Stored rows that say nothing more are
    deleted here (the view gives them back the same)."""
    for statement in (
        """DELETE FROM versions WHERE source IS NULL AND seen_at IS NULL
            AND title IS NULL AND abstract IS NULL
            AND EXISTS (SELECT 1 FROM papers p WHERE p.id = versions.paper_id
                AND coalesce(p.version, 0) = versions.version
                AND p.updated IS versions.updated
                AND p.announce_type IS versions.announce_type)""",
        "DROP VIEW version_texts",
        f"""CREATE VIEW version_texts AS
            SELECT v.paper_id, v.version, coalesce(v.source, {paper_source_sql("p")}) AS source,
                coalesce(v.seen_at, p.first_seen) AS seen_at,
                coalesce(v.title, p.title) AS title,
                coalesce(v.abstract, p.abstract, '') AS abstract,
                v.updated, v.announce_type
            FROM versions v JOIN papers p ON p.id = v.paper_id
            UNION ALL {_ARRIVAL_VERSION_SQL}""",
    ):
        db.execute(statement)


@migration
def m016_arrival_sources_implicit(db: Database) -> None:
    """A paper that names its source by id (m014) stores no `paper_source_ids` row for it:
    that row would say only the paper's own source and first_seen. `paper_sources` shows
    it from `papers` (a paper arriving, ~28 bytes); its insert trigger ignores such a row
    as it ignored a row already there. The rows of papers stored before m014 stay."""
    for statement in (
        """DELETE FROM paper_source_ids WHERE first_seen IS NULL AND EXISTS (
            SELECT 1 FROM papers p WHERE p.id = paper_source_ids.paper_id
                AND p.source_id = paper_source_ids.source_id)""",
        "DROP VIEW paper_sources",  # and its triggers
        """CREATE VIEW paper_sources AS
        SELECT r.paper_id, k.source, coalesce(r.first_seen, p.first_seen) AS first_seen,
            r.source_id AS rowid
        FROM paper_source_ids r JOIN source_keys k ON k.id = r.source_id
        LEFT JOIN papers p ON p.id = r.paper_id
        UNION ALL
        SELECT p.id, k.source, p.first_seen, p.source_id
        FROM papers p JOIN source_keys k ON k.id = p.source_id
        WHERE NOT EXISTS (SELECT 1 FROM paper_source_ids r
                          WHERE r.paper_id = p.id AND r.source_id = p.source_id)""",
        """CREATE TRIGGER paper_sources_insert INSTEAD OF INSERT ON paper_sources BEGIN
        INSERT OR IGNORE INTO source_keys (source) VALUES (new.source);
        INSERT OR IGNORE INTO paper_source_ids (paper_id, source_id, first_seen)
            SELECT new.paper_id, k.id,
                NULLIF(new.first_seen, (SELECT first_seen FROM papers WHERE id = new.paper_id))
            FROM source_keys k WHERE k.source = new.source
                AND NOT EXISTS (SELECT 1 FROM papers p
                                WHERE p.id = new.paper_id AND p.source_id = k.id);
    END""",
        """CREATE TRIGGER paper_sources_delete INSTEAD OF DELETE ON paper_sources BEGIN
        DELETE FROM paper_source_ids WHERE paper_id = old.paper_id
            AND source_id = (SELECT id FROM source_keys WHERE source = old.source);
    END""",
    ):
        db.execute(statement)


@migration
def m017_fts_abstract_first(db: Database) -> None:
    """`papers_fts` indexes the same three columns with the abstract first (abstract,
    title, authors). FTS5 writes a column marker (2 bytes) into each position list that is
    not in its first column, and about 140 of a paper's ~160 indexed terms are in its
    abstract: ~1,000 -> ~780 bytes a paper. Matches, column filters (`title:x`), phrases,
    NEAR and bm25 (equal column weights; a row's length is the sum of its columns) are
    the same; the index is rebuilt from `papers`. One statement at a time, in the
    migration's transaction (executescript would commit first)."""
    for name in ("papers_ai", "papers_ad", "papers_au"):
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
    for statement in (
        "DROP TABLE IF EXISTS papers_fts",
        """CREATE VIRTUAL TABLE [papers_fts] USING FTS5 (
            [abstract], [title], [authors], tokenize='porter', content=[papers]
        )""",
        "INSERT INTO papers_fts (papers_fts) VALUES ('rebuild')",
        """CREATE TRIGGER papers_ai AFTER INSERT ON papers BEGIN
          INSERT INTO papers_fts (rowid, abstract, title, authors)
            VALUES (new.rowid, new.abstract, new.title, new.authors);
        END""",
        """CREATE TRIGGER papers_ad AFTER DELETE ON papers BEGIN
          INSERT INTO papers_fts (papers_fts, rowid, abstract, title, authors)
            VALUES ('delete', old.rowid, old.abstract, old.title, old.authors);
        END""",
        """CREATE TRIGGER papers_au AFTER UPDATE OF title, abstract, authors ON papers BEGIN
          INSERT INTO papers_fts (papers_fts, rowid, abstract, title, authors)
            VALUES ('delete', old.rowid, old.abstract, old.title, old.authors);
          INSERT INTO papers_fts (rowid, abstract, title, authors)
            VALUES (new.rowid, new.abstract, new.title, new.authors);
        END""",
    ):
        db.execute(statement)
