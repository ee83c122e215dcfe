#include "pg/result.hpp"

#include <stdexcept>

namespace plinth::pg {

int Result::rows() const { return PQntuples(res_.get()); }

int Result::columns() const { return PQnfields(res_.get()); }

void Result::check(int row, int col) const {
    if (row < 0 || row >= rows())
        throw std::out_of_range("row " + std::to_string(row) + " out of range (result has " +
                                std::to_string(rows()) + " rows)");
    if (col < 0 || col >= columns())
        throw std::out_of_range("column " + std::to_string(col) + " out of range (result has " +
                                std::to_string(columns()) + " columns)");
}

std::optional<std::string_view> Result::value(int row, int col) const {
    check(row, col);
    if (PQgetisnull(res_.get(), row, col)) return std::nullopt;
    return std::string_view(PQgetvalue(res_.get(), row, col),
                            static_cast<std::size_t>(PQgetlength(res_.get(), row, col)));
}

std::string Result::text(int row, int col) const {
    const auto v = value(row, col);
    if (!v)
        throw std::runtime_error("column \"" + std::string(column_name(col)) + "\" of row " +
                                 std::to_string(row) + " is NULL");
    return std::string(*v);
}

bool Result::is_null(int row, int col) const {
    check(row, col);
    return PQgetisnull(res_.get(), row, col) != 0;
}

long Result::affected_rows() const {
    const char* tuples = PQcmdTuples(res_.get());
    return *tuples ? std::stol(tuples) : 0;
}

int Result::column_index(std::string_view name) const {
    // PQfnumber folds unquoted names to lower case; callers mean the exact name.
    for (int c = 0; c < columns(); ++c)
        if (name == PQfname(res_.get(), c)) return c;
    throw std::out_of_range("no column \"" + std::string(name) + "\" in the result");
}

std::string_view Result::column_name(int col) const {
    if (col < 0 || col >= columns())
        throw std::out_of_range("column " + std::to_string(col) + " out of range");
    return PQfname(res_.get(), col);
}

std::string_view Result::command_status() const { return PQcmdStatus(res_.get()); }

}  // namespace plinth::pg
