// Owner of one PGresult: read-only access to rows, with SQL NULL kept distinct from "".
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <libpq-fe.h>

namespace plinth::pg {

class Result {
public:
    // Takes ownership of res (which must not be null).
    explicit Result(PGresult* res) noexcept : res_(res) {}

    int rows() const;
    int columns() const;
    // nullopt for SQL NULL. Throws std::out_of_range for a bad row or column.
    std::optional<std::string_view> value(int row, int col) const;
    // The value as text; throws std::runtime_error when it is NULL.
    std::string text(int row, int col) const;
    bool is_null(int row, int col) const;
    // Rows affected (or returned) by the command, 0 when the command reports no count (e.g. DDL).
    long affected_rows() const;
    // Exact (case-sensitive) column name lookup; throws std::out_of_range when absent.
    int column_index(std::string_view name) const;
    std::string_view column_name(int col) const;
    // The command tag, e.g. "INSERT 0 1" or "ROLLBACK".
    std::string_view command_status() const;
    const PGresult* native() const noexcept { return res_.get(); }

private:
    void check(int row, int col) const;

    struct Clear {
        void operator()(PGresult* res) const noexcept { PQclear(res); }
    };
    std::unique_ptr<PGresult, Clear> res_;
};

}  // namespace plinth::pg
