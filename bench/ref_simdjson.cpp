// bench/ref_simdjson.cpp - reference point for the parse benchmark.
//
// simdjson On-Demand extracting the same fields vigil's parser extracts,
// from an NDJSON corpus held in memory. Not part of vigil; it only exists
// so `make bench-parse` (bench/parse.sh) has something to compare against.
//
// Build:
//   g++ -std=c++17 -O3 -DNDEBUG bench/ref_simdjson.cpp
//       $(pkg-config --cflags --libs simdjson) -o bench/ref_simdjson
//
// Usage: ref_simdjson CORPUS [--mode lines|many] [--repeat N]
//
//   --mode lines  (default) every line is its own document, parsed with one
//                 reused ondemand::parser via parser.iterate(ptr, len, cap).
//   --mode many   parser.iterate_many() over the whole buffer (simdjson's
//                 fastest NDJSON path; with SIMDJSON_THREADS_ENABLED, stage 1
//                 of the next batch runs on a second thread, so cpu_seconds
//                 can exceed seconds).
//   --repeat N    loop over the corpus N times inside the timed region.
//
// Built without -march (as above), simdjson compiles On-Demand for its
// "fallback" builtin kernel; stage 1 still uses the runtime-detected one
// (haswell/icelake). -march=native made no measurable difference here.
//
// The corpus is read into a padded_string and a prefix of it is parsed once,
// untimed, before the timed loop. Only the loop is timed: wall clock
// (steady_clock) and CPU time (getrusage user+sys, all threads).
//
// Output: one JSON line on stdout,
//   {"tool":"simdjson-ondemand-lines","records":N,"errors":N,"bytes":B,
//    "seconds":S,"cpu_seconds":C,"checksum":X}
// records counts documents seen (as bench_parse does), errors those of them
// that failed (blank lines are neither); records, errors, bytes and the
// checksum are totals over all repeats. The checksum folds, per extracted
// value, the unescaped string length or the number truncated to int64; a
// failed document contributes nothing.
//
// Fields (top-level key, or "a.b" as either a literal top-level key or key
// "b" inside a top-level object "a"):
//   time       timestamp @timestamp time ts          string | number
//   level      level severity levelname log.level    string | number
//   category   category log_type                      string
//   service    service app service.name               string
//   logger     logger log.logger                      string
//   message    message msg                            string
//   status     http.status status status_code         number
//   endpoint   http.path path api_endpoint url        string
//   method     http.method method                     string
//   duration   duration_ms http.duration_ms duration latency_ms
//              response_time                          number
//   exception  exception.type                         string
//   request_id request_id, user_id user_id            string | number
// These are the default `fields` paths of config/vigil.yaml. A value of an
// unexpected type is ignored (the field counts as absent); unmatched fields
// are skipped by On-Demand. Unlike vigil, which validates each document
// completely, On-Demand only validates what it visits (plus stage 1's
// UTF-8 and structural checks), and strings here are unescaped, not views.

#include <simdjson.h>

#include <sys/resource.h>
#include <sys/time.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace od = simdjson::ondemand;
using simdjson::error_code;
using simdjson::SUCCESS;

namespace {

// What a matched key extracts.
enum class Kind : uint8_t {
	None,
	StrOrNum,   // time, level
	Str,        // category, service, logger, message, endpoint, ...
	Num,        // status, duration
	Service,    // "service": string, or object holding "name"
	HttpObj,    // "http": object with status/path/method
	ExcObj,     // "exception": object with type
	LogObj,     // "log": object with level/logger
};

inline bool eq(std::string_view k, const char *lit, size_t n)
{
	return k.size() == n && std::memcmp(k.data(), lit, n) == 0;
}
#define EQ(k, s) eq((k), (s), sizeof(s) - 1)

// Top-level key -> kind. Switch on length first so most keys cost one
// or two memcmp calls.
inline Kind top_kind(std::string_view k)
{
	switch (k.size()) {
	case 2:
		if (EQ(k, "ts")) return Kind::StrOrNum;
		break;
	case 3:
		if (EQ(k, "app") || EQ(k, "msg") || EQ(k, "url")) return Kind::Str;
		if (EQ(k, "log")) return Kind::LogObj;
		break;
	case 4:
		if (EQ(k, "time")) return Kind::StrOrNum;
		if (EQ(k, "path")) return Kind::Str;
		if (EQ(k, "http")) return Kind::HttpObj;
		break;
	case 5:
		if (EQ(k, "level")) return Kind::StrOrNum;
		break;
	case 6:
		if (EQ(k, "logger") || EQ(k, "method")) return Kind::Str;
		if (EQ(k, "status")) return Kind::Num;
		break;
	case 7:
		if (EQ(k, "message")) return Kind::Str;
		if (EQ(k, "user_id")) return Kind::StrOrNum;
		if (EQ(k, "service")) return Kind::Service;
		break;
	case 8:
		if (EQ(k, "severity")) return Kind::StrOrNum;
		if (EQ(k, "category") || EQ(k, "log_type")) return Kind::Str;
		if (EQ(k, "duration")) return Kind::Num;
		break;
	case 9:
		if (EQ(k, "timestamp") || EQ(k, "levelname") || EQ(k, "log.level"))
			return Kind::StrOrNum;
		if (EQ(k, "http.path")) return Kind::Str;
		if (EQ(k, "exception")) return Kind::ExcObj;
		break;
	case 10:
		if (EQ(k, "@timestamp")) return Kind::StrOrNum;
		if (EQ(k, "log.logger")) return Kind::Str;
		if (EQ(k, "request_id")) return Kind::StrOrNum;
		if (EQ(k, "latency_ms")) return Kind::Num;
		break;
	case 11:
		if (EQ(k, "http.status") || EQ(k, "status_code") || EQ(k, "duration_ms"))
			return Kind::Num;
		if (EQ(k, "http.method")) return Kind::Str;
		break;
	case 12:
		if (EQ(k, "service.name") || EQ(k, "api_endpoint")) return Kind::Str;
		break;
	case 13:
		if (EQ(k, "response_time")) return Kind::Num;
		break;
	case 14:
		if (EQ(k, "exception.type")) return Kind::Str;
		break;
	case 16:
		if (EQ(k, "http.duration_ms")) return Kind::Num;
		break;
	default:
		break;
	}
	return Kind::None;
}

inline Kind http_kind(std::string_view k)
{
	if (EQ(k, "status") || EQ(k, "duration_ms")) return Kind::Num;
	if (EQ(k, "path") || EQ(k, "method")) return Kind::Str;
	return Kind::None;
}

inline Kind exc_kind(std::string_view k)
{
	return EQ(k, "type") ? Kind::Str : Kind::None;
}

inline Kind log_kind(std::string_view k)
{
	if (EQ(k, "level")) return Kind::StrOrNum;
	if (EQ(k, "logger")) return Kind::Str;
	return Kind::None;
}

inline Kind service_kind(std::string_view k)
{
	return EQ(k, "name") ? Kind::Str : Kind::None;
}

inline void fold_num(uint64_t &ck, double d)
{
	// Cast via int64 so negative and fractional values stay well defined
	// (NaN/inf cannot come out of a JSON number, huge values are clamped).
	if (d > 9.0e18) d = 9.0e18;
	if (d < -9.0e18) d = -9.0e18;
	ck += static_cast<uint64_t>(static_cast<int64_t>(d));
}

inline void fold_str(uint64_t &ck, std::string_view s)
{
	ck += s.size();
}

// Extract a scalar of the given kind. Type mismatches are not errors: the
// simdjson getters only advance on success, so the enclosing object
// iteration skips the value. Only parse errors are returned.
inline error_code take_scalar(od::value &v, Kind kind, uint64_t &ck)
{
	switch (kind) {
	case Kind::Str: {
		std::string_view s;
		error_code e = v.get_string().get(s);
		if (e == SUCCESS) fold_str(ck, s);
		else if (e != simdjson::INCORRECT_TYPE) return e;
		return SUCCESS;
	}
	case Kind::Num: {
		double d;
		error_code e = v.get_double().get(d);
		if (e == SUCCESS) fold_num(ck, d);
		else if (e != simdjson::INCORRECT_TYPE) return e;
		return SUCCESS;
	}
	case Kind::StrOrNum: {
		od::json_type t;
		error_code e = v.type().get(t);
		if (e) return e;
		if (t == od::json_type::string) return take_scalar(v, Kind::Str, ck);
		if (t == od::json_type::number) return take_scalar(v, Kind::Num, ck);
		return SUCCESS;
	}
	default:
		return SUCCESS;
	}
}

// Iterate a nested object, matching second path components with match().
template <typename Match>
inline error_code take_nested(od::value &v, Match match, uint64_t &ck)
{
	od::object obj;
	error_code e = v.get_object().get(obj);
	if (e == simdjson::INCORRECT_TYPE) return SUCCESS; // not an object: skip
	if (e) return e;
	for (auto res : obj) {
		if ((e = res.error())) return e;
		od::field &f = res.value_unsafe();
		std::string_view key;
		if ((e = f.unescaped_key().get(key))) return e;
		Kind k = match(key);
		if (k == Kind::None) continue;
		if ((e = take_scalar(f.value(), k, ck))) return e;
	}
	return SUCCESS;
}

// One record. D is od::document (lines) or od::document_reference (many).
template <typename D>
inline error_code process(D &doc, uint64_t &ck)
{
	od::object obj;
	error_code e = doc.get_object().get(obj);
	if (e) return e;
	for (auto res : obj) {
		if ((e = res.error())) return e;
		od::field &f = res.value_unsafe();
		std::string_view key;
		if ((e = f.unescaped_key().get(key))) return e;
		Kind k = top_kind(key);
		if (k == Kind::None) continue;
		od::value &v = f.value();
		switch (k) {
		case Kind::HttpObj:
			e = take_nested(v, http_kind, ck);
			break;
		case Kind::ExcObj:
			e = take_nested(v, exc_kind, ck);
			break;
		case Kind::LogObj:
			e = take_nested(v, log_kind, ck);
			break;
		case Kind::Service: {
			od::json_type t;
			if ((e = v.type().get(t))) break;
			if (t == od::json_type::string)
				e = take_scalar(v, Kind::Str, ck);
			else if (t == od::json_type::object)
				e = take_nested(v, service_kind, ck);
			break;
		}
		default:
			e = take_scalar(v, k, ck);
			break;
		}
		if (e) return e;
	}
	return SUCCESS;
}

struct Totals {
	uint64_t records = 0; // documents that parsed (errors not included)
	uint64_t errors = 0;
	uint64_t checksum = 0;
};

// Lines mode: one document per line, parsed with parser.iterate(). Handles
// the lines starting in [pos, limit) and returns where the next line starts.
// Everything from base+pos to the end of the padded_string's allocation is
// readable (rest of the file plus SIMDJSON_PADDING), so every line has
// enough padding without copying.
size_t run_lines_range(od::parser &parser, const char *base, size_t n, size_t pos,
		       size_t limit, Totals &t)
{
	while (pos < limit) {
		const char *nl = static_cast<const char *>(std::memchr(base + pos, '\n', n - pos));
		const size_t end = nl ? static_cast<size_t>(nl - base) : n;
		size_t len = end - pos;
		if (len && base[pos + len - 1] == '\r') len--;
		if (len) {
			const size_t cap = n - pos + simdjson::SIMDJSON_PADDING;
			od::document doc;
			uint64_t ck = 0;
			error_code e = parser.iterate(base + pos, len, cap).get(doc);
			if (e == SUCCESS) e = process(doc, ck);
			// One document per line: reject trailing content (3.0.1 has
			// no document::at_end(); OUT_OF_BOUNDS means "at the end").
			if (e == SUCCESS && doc.current_location().error() != simdjson::OUT_OF_BOUNDS)
				e = simdjson::TRAILING_CONTENT;
			if (e == SUCCESS) {
				t.records++;
				t.checksum += ck;
			} else if (e != simdjson::EMPTY) { // EMPTY: blank line
				t.errors++;
			}
		}
		pos = end + 1;
	}
	return pos;
}

void run_lines(od::parser &parser, const simdjson::padded_string &corpus, Totals &t)
{
	run_lines_range(parser, corpus.data(), corpus.size(), 0, corpus.size(), t);
}

// Many mode: the whole buffer through iterate_many.
//
// simdjson 3.0.1 cannot advance a document_stream past a document that
// failed (it dereferences the abandoned iterator), and a stage-1 error
// poisons a whole batch window. So on any error we leave the stream, parse
// the next `batch` bytes line by line (as lines mode would, which also pins
// the error on the right line) and then restart iterate_many. The
// error-free path is a single stream over the whole buffer.
void run_many(od::parser &parser, const simdjson::padded_string &corpus, size_t batch,
	      Totals &t)
{
	const char *base = corpus.data();
	const size_t n = corpus.size();
	size_t start = 0;
	while (start < n) {
		size_t resume = SIZE_MAX;   // where line-by-line parsing picks up
		size_t tail = 0;            // truncated bytes at the end
		{
			od::document_stream stream;
			if (parser.iterate_many(base + start, n - start, batch).get(stream)) {
				t.errors++;
				return;
			}
			size_t last_ok = SIZE_MAX;
			for (auto it = stream.begin(); it != stream.end(); ++it) {
				od::document_reference doc;
				uint64_t ck = 0;
				const error_code se = (*it).get(doc);
				error_code e = se;
				if (e == SUCCESS) e = process(doc, ck);
				if (e != SUCCESS) {
					const size_t idx = start + it.current_index();
					resume = idx;
					if (se != SUCCESS && idx == last_ok) {
						// Stream error after a good document:
						// resume at the line following it.
						const char *nl = static_cast<const char *>(
							std::memchr(base + idx, '\n', n - idx));
						resume = nl ? static_cast<size_t>(nl - base) + 1 : n;
					}
					break;
				}
				last_ok = start + it.current_index();
				t.records++;
				t.checksum += ck;
			}
			// A final document cut short is not reported by the
			// iterator, only as truncated bytes.
			if (resume == SIZE_MAX) tail = stream.truncated_bytes();
		}
		if (resume == SIZE_MAX) {
			if (tail) run_lines_range(parser, base, n, n - tail, n, t);
			return;
		}
		start = run_lines_range(parser, base, n, resume, std::min(n, resume + batch), t);
	}
}

double cpu_now()
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

[[noreturn]] void usage(const char *argv0)
{
	std::fprintf(stderr, "usage: %s CORPUS [--mode lines|many] [--repeat N]\n", argv0);
	std::exit(2);
}

} // namespace

int main(int argc, char **argv)
{
	const char *path = nullptr;
	bool many = false;
	unsigned long repeat = 1;

	for (int i = 1; i < argc; i++) {
		std::string_view a = argv[i];
		const char *val = nullptr;
		if (a == "--mode" || a == "--repeat") {
			if (i + 1 >= argc) usage(argv[0]);
			val = argv[++i];
		} else if (a.rfind("--mode=", 0) == 0 || a.rfind("--repeat=", 0) == 0) {
			val = argv[i] + a.find('=') + 1;
			a = a.substr(0, a.find('='));
		} else if (a == "-h" || a == "--help") {
			usage(argv[0]);
		} else if (!a.empty() && a[0] == '-') {
			std::fprintf(stderr, "ref_simdjson: unknown option %s\n", argv[i]);
			usage(argv[0]);
		} else if (!path) {
			path = argv[i];
			continue;
		} else {
			usage(argv[0]);
		}
		if (a == "--mode") {
			if (std::strcmp(val, "lines") == 0) many = false;
			else if (std::strcmp(val, "many") == 0) many = true;
			else {
				std::fprintf(stderr, "ref_simdjson: bad --mode '%s'\n", val);
				usage(argv[0]);
			}
		} else {
			char *endp = nullptr;
			repeat = std::strtoul(val, &endp, 10);
			if (!*val || *endp || repeat == 0) {
				std::fprintf(stderr, "ref_simdjson: bad --repeat '%s'\n", val);
				usage(argv[0]);
			}
		}
	}
	if (!path) usage(argv[0]);

	simdjson::padded_string corpus;
	if (error_code e = simdjson::padded_string::load(path).get(corpus)) {
		std::fprintf(stderr, "ref_simdjson: %s: %s\n", path, simdjson::error_message(e));
		return 1;
	}

	// Untimed setup: size the parser for the longest line (lines mode) or
	// the batch window (many mode), so no allocation happens while timing.
	size_t maxline = 0;
	{
		const char *b = corpus.data();
		size_t n = corpus.size(), pos = 0;
		while (pos < n) {
			const char *nl = static_cast<const char *>(std::memchr(b + pos, '\n', n - pos));
			size_t end = nl ? static_cast<size_t>(nl - b) : n;
			maxline = std::max(maxline, end - pos);
			pos = end + 1;
		}
	}
	// iterate_many needs every document to fit in one batch window.
	const size_t batch = std::max<size_t>(simdjson::ondemand::DEFAULT_BATCH_SIZE, 2 * maxline + 64);
	od::parser parser;
	if (error_code e = parser.allocate(many ? batch : std::max<size_t>(maxline, 64))) {
		std::fprintf(stderr, "ref_simdjson: allocate: %s\n", simdjson::error_message(e));
		return 1;
	}

	// Untimed warm-up over a prefix (about two batch windows, whole lines)
	// so first-touch page faults in the parser's buffers are not timed;
	// they cost ~2 ms, which matters only for tiny corpora.
	{
		size_t cut = std::min(corpus.size(), 2 * batch);
		if (cut < corpus.size()) {
			const char *nl = static_cast<const char *>(
				std::memchr(corpus.data() + cut, '\n', corpus.size() - cut));
			cut = nl ? static_cast<size_t>(nl - corpus.data()) + 1 : corpus.size();
		}
		simdjson::padded_string prefix(corpus.data(), cut);
		Totals w;
		if (many) run_many(parser, prefix, batch, w);
		else run_lines(parser, prefix, w);
	}

	Totals t;
	const double cpu0 = cpu_now();
	const auto wall0 = std::chrono::steady_clock::now();
	for (unsigned long r = 0; r < repeat; r++) {
		if (many) run_many(parser, corpus, batch, t);
		else run_lines(parser, corpus, t);
	}
	const auto wall1 = std::chrono::steady_clock::now();
	const double cpu1 = cpu_now();

	const double secs = std::chrono::duration<double>(wall1 - wall0).count();
	std::printf("{\"tool\":\"simdjson-ondemand-%s\",\"records\":%" PRIu64 ",\"errors\":%" PRIu64
		    ",\"bytes\":%" PRIu64 ",\"seconds\":%.6f,\"cpu_seconds\":%.6f,\"checksum\":%" PRIu64
		    "}\n",
		    many ? "many" : "lines", t.records + t.errors, t.errors,
		    static_cast<uint64_t>(corpus.size()) * repeat, secs, cpu1 - cpu0, t.checksum);
	return 0;
}
