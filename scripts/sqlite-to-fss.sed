# sqlite-to-fss.sed - converts a server store file written against the
# sqlite3 C API to the SQL driver (sync-server/fss_sql.h), by renaming:
#   sed -i -E -f scripts/sqlite-to-fss.sed sync-server/fss_sqlite_<topic>.c
# then rename the file to fss_repo_<topic>.c, include "fss_store.h" instead
# of "fss_sqlite.h", and list it in sync-server/CMakeLists.txt.
# docs/ARCHITECTURE.md ("The SQL driver") has the same table.
s/#include[[:space:]]*<sqlite3\.h>/#include "fss_sql.h"/
s/\bsqlite3_prepare_v[23]\b/fss_prepare/g
s/\bsqlite3_stmt\b/fss_stmt/g
s/\bsqlite3\b/fss_sql/g
s/\bsqlite3_([a-z0-9_]+)\b/fss_\1/g
s/\bSQLITE_(OK|ERROR|BUSY|NOMEM|CONSTRAINT|ROW|DONE|INTEGER|FLOAT|TEXT|BLOB|NULL|STATIC|TRANSIENT)\b/FSS_SQL_\1/g
s/#include[[:space:]]*"fss_sqlite\.h"/#include "fss_store.h"/
