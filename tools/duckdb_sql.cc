// duckdb_sql: runs a SQL file (or -c "SQL") in an in-memory DuckDB, with
// ${VAR} replaced from --set VAR=value, so example generators are reproducible.
//
//   duckdb_sql FILE.sql [--set VAR=value]...
//   duckdb_sql -c "SQL" [--set VAR=value]...
//
// Statements run one after the other; the rows of each statement that returns
// rows (SELECT, EXPLAIN, PRAGMA, CALL) are printed tab-separated, NULL as \N.
// A ${VAR} without a --set is an error, so a typo never writes to a wrong path;
// any other '$' is left for DuckDB. Exit 0 ok, 1 a SQL error, 2 bad usage.
#include <duckdb.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>

namespace {

constexpr int kExitSqlError = 1;
constexpr int kExitUsage = 2;

void PrintUsage() {
  std::fprintf(stderr,
               "usage: duckdb_sql FILE.sql [--set VAR=value]...\n"
               "       duckdb_sql -c \"SQL\" [--set VAR=value]...\n"
               "Runs the SQL in an in-memory DuckDB; ${VAR} is replaced by the --set value.\n");
}

bool IsNameStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool IsNameChar(char c) {
  return IsNameStart(c) || (c >= '0' && c <= '9');
}

// Replaces every ${NAME} by its value; false (with `error`) on an unset name.
bool Substitute(const std::string& in, const std::map<std::string, std::string>& vars,
                std::string* out, std::string* error) {
  out->clear();
  size_t i = 0;
  while (i < in.size()) {
    if (in[i] == '$' && i + 2 < in.size() && in[i + 1] == '{' && IsNameStart(in[i + 2])) {
      size_t end = i + 2;
      while (end < in.size() && IsNameChar(in[end])) ++end;
      if (end < in.size() && in[end] == '}') {
        const std::string name = in.substr(i + 2, end - i - 2);
        const auto it = vars.find(name);
        if (it == vars.end()) {
          *error = "${" + name + "} is used but not set; pass --set " + name + "=VALUE";
          return false;
        }
        out->append(it->second);
        i = end + 1;
        continue;
      }
    }
    out->push_back(in[i]);
    ++i;
  }
  return true;
}

bool ReturnsRows(duckdb_statement_type type) {
  return type == DUCKDB_STATEMENT_TYPE_SELECT || type == DUCKDB_STATEMENT_TYPE_EXPLAIN ||
         type == DUCKDB_STATEMENT_TYPE_PRAGMA || type == DUCKDB_STATEMENT_TYPE_CALL;
}

void PrintRows(duckdb_result* result) {
  const idx_t columns = duckdb_column_count(result);
  // duckdb_value_varchar renders every type as DuckDB's own text; speed does
  // not matter for the few rows a generator prints.
  const idx_t rows = duckdb_row_count(result);
  for (idx_t r = 0; r < rows; ++r) {
    for (idx_t c = 0; c < columns; ++c) {
      if (c > 0) std::fputc('\t', stdout);
      if (duckdb_value_is_null(result, c, r)) {
        std::fputs("\\N", stdout);
      } else {
        char* text = duckdb_value_varchar(result, c, r);
        std::fputs(text != nullptr ? text : "", stdout);
        duckdb_free(text);
      }
    }
    std::fputc('\n', stdout);
  }
}

// Runs every statement of `sql`; prints the error with the statement's
// ordinal on failure.
int Run(duckdb_connection con, const std::string& sql, const std::string& origin) {
  duckdb_extracted_statements statements = nullptr;
  const idx_t count = duckdb_extract_statements(con, sql.c_str(), &statements);
  if (count == 0) {
    const char* err = duckdb_extract_statements_error(statements);
    std::fprintf(stderr, "duckdb_sql: %s: %s\n", origin.c_str(), err != nullptr ? err : "no SQL");
    duckdb_destroy_extracted(&statements);
    return err != nullptr ? kExitSqlError : 0;
  }
  int rc = 0;
  for (idx_t i = 0; i < count && rc == 0; ++i) {
    duckdb_prepared_statement prepared = nullptr;
    if (duckdb_prepare_extracted_statement(con, statements, i, &prepared) == DuckDBError) {
      std::fprintf(stderr, "duckdb_sql: %s: statement %llu: %s\n", origin.c_str(),
                   static_cast<unsigned long long>(i + 1), duckdb_prepare_error(prepared));
      rc = kExitSqlError;
    } else {
      duckdb_result result;
      if (duckdb_execute_prepared(prepared, &result) == DuckDBError) {
        std::fprintf(stderr, "duckdb_sql: %s: statement %llu: %s\n", origin.c_str(),
                     static_cast<unsigned long long>(i + 1), duckdb_result_error(&result));
        rc = kExitSqlError;
      } else if (ReturnsRows(duckdb_result_statement_type(result))) {
        PrintRows(&result);
      }
      duckdb_destroy_result(&result);
    }
    duckdb_destroy_prepare(&prepared);
  }
  duckdb_destroy_extracted(&statements);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  std::string file;
  std::string command;
  bool have_command = false;
  std::map<std::string, std::string> vars;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      PrintUsage();
      return 0;
    }
    if (arg == "--set" || arg == "-c") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "duckdb_sql: %s needs a value\n", argv[i]);
        PrintUsage();
        return kExitUsage;
      }
      const std::string value = argv[++i];
      if (arg == "-c") {
        command = value;
        have_command = true;
        continue;
      }
      const size_t eq = value.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::fprintf(stderr, "duckdb_sql: --set expects VAR=value, got '%s'\n", value.c_str());
        return kExitUsage;
      }
      vars[value.substr(0, eq)] = value.substr(eq + 1);
      continue;
    }
    if (arg.starts_with("--set=")) {
      const std::string value(arg.substr(6));
      const size_t eq = value.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::fprintf(stderr, "duckdb_sql: --set expects VAR=value, got '%s'\n", value.c_str());
        return kExitUsage;
      }
      vars[value.substr(0, eq)] = value.substr(eq + 1);
      continue;
    }
    if (arg.starts_with("-") || !file.empty()) {
      std::fprintf(stderr, "duckdb_sql: unexpected argument '%s'\n", argv[i]);
      PrintUsage();
      return kExitUsage;
    }
    file = argv[i];
  }
  if (have_command == !file.empty()) {
    PrintUsage();
    return kExitUsage;
  }

  std::string sql = command;
  std::string origin = "-c";
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "duckdb_sql: cannot read '%s': %s\n", file.c_str(),
                   std::strerror(errno));
      return kExitUsage;
    }
    std::ostringstream text;
    text << in.rdbuf();
    sql = text.str();
    origin = file;
  }
  std::string expanded;
  std::string error;
  if (!Substitute(sql, vars, &expanded, &error)) {
    std::fprintf(stderr, "duckdb_sql: %s: %s\n", origin.c_str(), error.c_str());
    return kExitUsage;
  }

  duckdb_database db = nullptr;
  duckdb_connection con = nullptr;
  if (duckdb_open(nullptr, &db) == DuckDBError) {
    std::fprintf(stderr, "duckdb_sql: cannot open an in-memory DuckDB\n");
    return kExitSqlError;
  }
  if (duckdb_connect(db, &con) == DuckDBError) {
    std::fprintf(stderr, "duckdb_sql: cannot connect to the in-memory DuckDB\n");
    duckdb_close(&db);
    return kExitSqlError;
  }
  const int rc = Run(con, expanded, origin);
  duckdb_disconnect(&con);
  duckdb_close(&db);
  return rc;
}
