// tsft convert --format F --data FILE --out problems.jsonl: a public dataset in an adapter format (MATH,
// GSM8K, ...; src/data/adapters.hpp) -> problem records, the input of `tsft eval` (local or --endpoint).
#include <fmt/format.h>

#include "cli/command.hpp"
#include "data/adapters.hpp"

TSFT_COMMAND(convert, "convert", "Convert a public dataset (adapter format) to problem JSONL for tsft eval",
             [](CLI::App& app) {
               struct Opt {
                 std::string format, data, out, split = "test";
                 int64_t limit = 0;
               };
               auto o = std::make_shared<Opt>();
               app.add_option("--format", o->format, "dataset format")
                   ->required()
                   ->check(CLI::IsMember(tsft::data::adapter_formats()));
               app.add_option("--data", o->data, "dataset file (JSONL, or JSON array)")->required();
               app.add_option("--out", o->out, "problem JSONL to write")->required();
               app.add_option("--split", o->split, "split name of the records")->capture_default_str();
               app.add_option("--limit", o->limit, "first N records (0 = all)");
               return [o] {
                 auto ps = tsft::data::adapter_load(o->format, o->data, o->split);
                 if (o->limit > 0 && (int64_t)ps.size() > o->limit) ps.resize(o->limit);
                 tsft::data::problems_write_jsonl(o->out, ps);
                 fmt::print("{} problems -> {}\n", ps.size(), o->out);
                 return 0;
               };
             });
