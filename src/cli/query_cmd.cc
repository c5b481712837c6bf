// callaudit query: read-only SQL over the timeline, as a table, CSV or JSON.
// Covered by tests/cli/query_test.cc.
#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <iostream>

#include "callaudit/json.h"
#include "callaudit/store.h"
#include "common.h"

namespace callaudit::cli {

namespace {

// Refuses anything that could change the database or reach outside it.
int authorizer(void* refused, int action, const char* a, const char* b, const char*, const char*) {
  auto deny = [&](const std::string& what) {
    *static_cast<std::string*>(refused) = what;
    return SQLITE_DENY;
  };
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE:
      // for a function, SQLite gives its name in the second argument (the first is NULL)
      if (action == SQLITE_FUNCTION && b && sqlite3_stricmp(b, "load_extension") == 0) return deny("load_extension");
      return SQLITE_OK;
    case SQLITE_PRAGMA:
      // reading a few harmless pragmas is fine; setting any is not
      if (a) {
        std::string p = a;
        std::transform(p.begin(), p.end(), p.begin(), ::tolower);
        if (p == "table_info" || p == "table_list" || p == "index_list") return SQLITE_OK;
        if (p == "user_version" && !b) return SQLITE_OK;  // reading it; "= N" would set it
      }
      return deny(std::string("PRAGMA ") + (a ? a : ""));
    case SQLITE_ATTACH:
      return deny("ATTACH");
    case SQLITE_DETACH:
      return deny("DETACH");
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT:
      return SQLITE_OK;
    default:
      return deny("writes and schema changes");
  }
}

}  // namespace

// Runs the first statement of sql under the authorizer and prints its rows; also used by the shell
// (shell_cmd.cc) for every statement it runs. Returns 0, or 2 when refused or failed.
int run_query(Env& env, Store& store, const std::string& sql, const std::string& format) {
  std::string refused;
  sqlite3_set_authorizer(store.db(), authorizer, &refused);
  sqlite3_db_config(store.db(), SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);
  sqlite3_db_config(store.db(), SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  Statement q(store.db(), sql);
  if (!q.ok()) {
    if (!refused.empty())
      error_line(env, "refused: the timeline is read-only here (" + refused + ")");
    else
      error_line(env, "SQL: " + q.error());
    sqlite3_set_authorizer(store.db(), nullptr, nullptr);
    return static_cast<int>(Exit::usage);
  }
  if (q.rest().find_first_not_of(" \t\r\n;") != std::string::npos) {
    error_line(env, "one statement at a time: nothing was run (the text after the first ';' would be ignored)");
    sqlite3_set_authorizer(store.db(), nullptr, nullptr);
    return static_cast<int>(Exit::usage);
  }
  std::vector<std::string> names;
  for (int i = 0; i < q.columns(); ++i) names.push_back(q.name(i));
  std::vector<std::vector<std::string>> rows;
  std::vector<std::vector<bool>> nulls;
  while (q.step()) {
    std::vector<std::string> r;
    std::vector<bool> n;
    for (int i = 0; i < q.columns(); ++i) {
      r.push_back(q.text(i));
      n.push_back(q.is_null(i));
    }
    rows.push_back(std::move(r));
    nulls.push_back(std::move(n));
  }
  sqlite3_set_authorizer(store.db(), nullptr, nullptr);
  if (q.status() != SQLITE_DONE) {
    error_line(env, "SQL: " + q.error());
    return static_cast<int>(Exit::usage);
  }
  if (format == "json") {
    JsonWriter w(env.out);
    w.begin_array();
    for (size_t r = 0; r < rows.size(); ++r) {
      w.begin_object();
      for (size_t c = 0; c < names.size(); ++c) {
        w.key(names[c]);
        if (nulls[r][c])
          w.null();
        else
          w.value(rows[r][c]);
      }
      w.end_object();
    }
    w.end_array();
    env.out << "\n";
  } else if (format == "csv") {
    auto cell = [](const std::string& s) {
      if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
      std::string o = "\"";
      for (char ch : s) o += ch == '"' ? std::string("\"\"") : std::string(1, ch);
      return o + "\"";
    };
    for (size_t c = 0; c < names.size(); ++c) env.out << (c ? "," : "") << cell(names[c]);
    env.out << "\n";
    for (const auto& r : rows) {
      for (size_t c = 0; c < r.size(); ++c) env.out << (c ? "," : "") << cell(r[c]);
      env.out << "\n";
    }
  } else {
    std::vector<size_t> width(names.size());
    for (size_t c = 0; c < names.size(); ++c) width[c] = names[c].size();
    for (const auto& r : rows)
      for (size_t c = 0; c < r.size(); ++c) width[c] = std::min<size_t>(60, std::max(width[c], r[c].size()));
    auto line = [&](const std::vector<std::string>& r) {
      std::string out;
      for (size_t c = 0; c < r.size(); ++c) {
        std::string v = r[c].size() > 60 ? r[c].substr(0, 57) + "..." : r[c];
        for (char& ch : v)
          if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
        out += (c ? "  " : "") + v + std::string(width[c] > v.size() ? width[c] - v.size() : 0, ' ');
      }
      while (!out.empty() && out.back() == ' ') out.pop_back();
      env.out << out << "\n";
    };
    line(names);
    std::vector<std::string> rule;
    for (size_t w : width) rule.push_back(std::string(w, '-'));
    line(rule);
    for (const auto& r : rows) line(r);
    env.out << fmt::format("({} row{})\n", rows.size(), rows.size() == 1 ? "" : "s");
  }
  return 0;
}

int cmd_query(Env& env, const std::vector<std::string>& args) {
  const Command& cmd = command("query");
  std::string db, patterns, format = "table", sql;
  po::options_description desc("options");
  add_common(desc, db, patterns);
  desc.add_options()("format", po::value<std::string>(&format)->default_value("table"), "table, csv or json")(
      "sql", po::value<std::string>(&sql), "the SELECT to run");
  po::positional_options_description pos;
  pos.add("sql", 1);
  po::variables_map vm;
  if (int rc = parse_args(env, cmd, desc, &pos, args, vm); rc >= 0) return rc;
  if (sql.empty()) return usage_error(env, cmd, "no SQL given");
  if (format != "table" && format != "csv" && format != "json")
    return usage_error(env, cmd, "--format must be table, csv or json");
  auto store = Store::open(db, Store::Mode::read_only);
  if (!store.ok()) {
    error_line(env, store.error());
    return static_cast<int>(Exit::input_error);
  }
  return run_query(env, **store, sql, format);
}

}  // namespace callaudit::cli
