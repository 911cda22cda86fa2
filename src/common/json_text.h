// JsonText: the pieces of JSON text cutover writes itself (strings, floats,
// PostgreSQL's jsonb made compact), so every writer spells them one way.
#pragma once

#include <string>
#include <string_view>

namespace cutover {

// A JSON string literal of `text`: UTF-8 passes through; '"' and '\' are
// escaped, \b \f \n \r \t by their short escapes, other control characters
// as \u00xx.
void AppendJsonString(std::string_view text, std::string* out);

// `bytes` as a JSON value: a string when they are UTF-8, else
// {"$bytes": "<lowercase hex>"}, the form a bytea column takes whole.
void AppendJsonBytes(std::string_view bytes, std::string* out);

// A finite double as the shortest decimal that reads back to it, spelled as
// Python's repr spells it: fixed notation with at least one fraction digit
// ("2.0", "0.0001") when its exponent is in [-4, 16), else "1e+16", "1.5e-05".
void AppendJsonDouble(double value, std::string* out);

// `json` (valid JSON text, such as PostgreSQL prints a jsonb) with the
// whitespace between tokens removed; strings and numbers keep their exact
// text ("1.50" stays "1.50").
void AppendCompactJson(std::string_view json, std::string* out);

}  // namespace cutover
