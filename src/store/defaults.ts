// Defaults the command line shows before it loads the store (kept free of imports, so
// `quotient import` can parse its options without loading the ORM on the main thread).

/** Where the embedded database lives when no DATABASE_URL is given. */
export const DEFAULT_DATA_DIR = '.quotient';

/** Rows per ingest transaction. */
export const DEFAULT_CHUNK_SIZE = 5_000;
