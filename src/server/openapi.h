// The OpenAPI 3 document of `cutover serve`'s HTTP API, served at
// /openapi.json and checked by tests/openapi_test.cc against real answers.
#pragma once

#include <nlohmann/json.hpp>

namespace cutover::server {

// Every route with its methods, parameters, bodies and answers (status codes
// and the fields each answer always has). Each operation carries an
// `x-cutover-example` (a path, a body, whether it needs the token) that the
// test sends, so the document cannot drift from what the server does.
const nlohmann::json& OpenApiDocument();

}  // namespace cutover::server
