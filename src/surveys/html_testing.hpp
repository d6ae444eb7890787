// Test support for the HTML escaper: the inverse of its entities. Header-only, included by
// *_test.cpp only.
#pragma once

#include "core/html_escape_testing.hpp"

namespace treu::survey::testing {

using treu::html_testing::Unescape;

}  // namespace treu::survey::testing
