// treu_synth: writes a deterministic synthetic data set as canonical import files.
//
//   treu_synth --size S|M|L --out DIR [--seed N] [--no-events]
//
// Exit codes: 0 done, 1 generation or I/O failed, 2 bad command line.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include "synth/csv_writer.hpp"
#include "synth/synth.hpp"

namespace {

constexpr std::string_view kUsage =
    "usage: treu_synth --size S|M|L --out DIR [--seed N] [--no-events]\n"
    "  --size S|M|L   S: 10k customers (~100k orders), M: 100k (~1M), L: 1M (~10M)\n"
    "  --out DIR      directory for customers.csv, orders.csv, subscriptions.csv, events.jsonl\n"
    "  --seed N       random seed, an unsigned 64-bit integer (default 42)\n"
    "  --no-events    skip events.jsonl\n";

struct Flags {
  std::string size;
  std::string out;
  std::uint64_t seed = 42;
  bool events = true;
};

int UsageError(const std::string& message) {
  std::fprintf(stderr, "treu_synth: %s\n%.*s", message.c_str(), static_cast<int>(kUsage.size()),
               kUsage.data());
  return 2;
}

// Parses argv into `flags`; returns an error message, or empty on success.
std::string ParseFlags(int argc, char** argv, Flags& flags, bool& help) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    bool has_value = false;
    if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    auto take_value = [&]() -> bool {
      if (has_value) return true;
      if (i + 1 >= argc) return false;
      value = argv[++i];
      return true;
    };
    if (arg == "-h" || arg == "--help") {
      help = true;
    } else if (arg == "--no-events" && !has_value) {
      flags.events = false;
    } else if (arg == "--size") {
      if (!take_value()) return "--size needs a value: S, M or L";
      flags.size = std::string(value);
    } else if (arg == "--out") {
      if (!take_value() || value.empty()) return "--out needs a directory";
      flags.out = std::string(value);
    } else if (arg == "--seed") {
      if (!take_value()) return "--seed needs a value";
      const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), flags.seed);
      if (value.empty() || ec != std::errc() || p != value.data() + value.size()) {
        return "--seed: '" + std::string(value) + "' is not an unsigned 64-bit integer";
      }
    } else {
      return "unknown argument '" + std::string(argv[i]) + "'";
    }
  }
  if (help) return {};
  if (flags.size.empty()) return "--size is required";
  if (flags.out.empty()) return "--out is required";
  return {};
}

std::string Grouped(std::int64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  bool help = false;
  if (const std::string error = ParseFlags(argc, argv, flags, help); !error.empty()) {
    return UsageError(error);
  }
  if (help) {
    std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
    return 0;
  }
  auto config = treu::SynthSize(flags.size);
  if (!config) return UsageError("--size: " + config.error().detail());
  config->seed = flags.seed;
  config->events = flags.events;

  const auto t0 = std::chrono::steady_clock::now();
  auto sink = treu::CsvSink::Open(flags.out, treu::CsvSinkOptions{.events = flags.events});
  if (!sink) {
    std::fprintf(stderr, "treu_synth: %s\n", sink.error().ToString().c_str());
    return 1;
  }
  treu::CountingSink counter(sink->get());
  treu::Status status = treu::GenerateSynth(*config, counter);
  if (treu::Status finished = (*sink)->Finish(); status && !finished) status = finished;
  if (!status) {
    std::fprintf(stderr, "treu_synth: %s\n", status.error().ToString().c_str());
    return 1;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const treu::SynthCounts& c = counter.counts();
  std::printf("treu_synth: size %s, seed %llu, written to %s\n", config->size_name.c_str(),
              static_cast<unsigned long long>(flags.seed), flags.out.c_str());
  std::printf("  customers      %14s\n", Grouped(c.customers).c_str());
  std::printf("  orders         %14s  (%s refunds)\n", Grouped(c.orders).c_str(),
              Grouped(c.refunds).c_str());
  std::printf("  subscriptions  %14s  (%s rows)\n", Grouped(c.subscriptions).c_str(),
              Grouped(c.subscription_states).c_str());
  std::printf("  events         %14s%s\n", Grouped(c.events).c_str(),
              flags.events ? "" : "  (--no-events)");
  std::printf("  bytes          %14s\n", Grouped((*sink)->bytes_written()).c_str());
  std::printf("  elapsed        %14.2f s\n", seconds);
  return 0;
}
