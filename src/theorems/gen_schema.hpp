// The schema of the [gen] config sections ([gen], [gen.sizes], [gen.corpus], [gen.ranges]): names, types,
// ranges and help; the defaults are GenConfig's (generate.hpp), read from a default-constructed one.
#pragma once
#include "core/config_schema.hpp"

namespace tsft {

const schema::Schema& gen_schema();

}  // namespace tsft
