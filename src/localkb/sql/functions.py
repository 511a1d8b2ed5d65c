"""Which SQL functions the guard refuses, and which functions sqlglot does not model are known harmless.

Kept apart from ``rules`` so the executor's SQLite authorizer reads the same list without importing the
guard's rules (no import circle).
"""
from __future__ import annotations

#: functions that read or write files, load code, sleep, change settings or signal other sessions
DANGEROUS_FUNCTIONS = frozenset({
    "load_extension", "readfile", "writefile", "edit", "fts3_tokenizer", "zipfile", "sqlar_compress",
    "sqlar_uncompress", "lsdir", "fsdir", "sqlite_dbpage", "sqlite_offset", "randomblob", "zeroblob",
    "pg_sleep", "pg_sleep_for", "pg_sleep_until", "pg_read_file", "pg_read_binary_file", "pg_ls_dir",
    "pg_stat_file", "pg_file_write", "lo_import", "lo_export", "lo_get", "lo_put", "lo_unlink", "lo_create",
    "dblink", "dblink_exec", "dblink_connect", "set_config", "pg_terminate_backend", "pg_cancel_backend",
    "pg_reload_conf", "pg_rotate_logfile", "pg_promote", "pg_switch_wal", "txid_current", "nextval", "setval",
    "pg_advisory_lock", "pg_advisory_xact_lock", "query_to_xml", "database_to_xml", "pg_logical_emit_message",
    "sleep", "benchmark", "load_file", "sys_exec", "sys_eval", "xp_cmdshell", "get_lock", "release_lock",
})

#: functions sqlglot does not model (parsed as ``Anonymous``) that are known to be harmless
SAFE_ANONYMOUS = frozenset({
    "printf", "format", "julianday", "unixepoch", "datetime", "time", "date", "strftime", "total", "likelihood",
    "likely", "unlikely", "ifnull", "iif", "instr", "ltrim", "rtrim", "soundex", "quote", "char", "glob", "like",
    "changes", "last_insert_rowid", "total_changes", "sqlite_version", "typeof", "octet_length", "unicode",
    "hex", "unhex", "median", "mode", "percentile", "stddev", "variance", "concat_ws", "string_agg", "array_agg",
    "date_part", "date_trunc", "to_char", "to_date", "extract", "age", "now", "justify_days", "initcap",
    "split_part", "position", "strpos", "btrim", "lpad", "rpad", "reverse", "repeat", "left", "right",
    "greatest", "least", "ceil", "ceiling", "floor", "sign", "trunc", "sqrt", "power", "pow", "exp", "ln", "log",
    "log10", "mod", "pi", "degrees", "radians", "sin", "cos", "tan", "asin", "acos", "atan", "atan2",
    "row_number", "rank", "dense_rank", "ntile", "lag", "lead", "first_value", "last_value", "nth_value",
    "percent_rank", "cume_dist", "json_extract", "json_array_length", "json_type", "json_valid", "coalesce",
    "nullif", "year", "month", "day", "dayofweek", "datediff", "date_format", "isnull", "char_length",
    "character_length", "bool_and", "bool_or", "every", "jsonb_extract_path_text", "json_extract_path_text",
})
