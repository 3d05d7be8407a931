// One JSON spelling per type: every codec reads back what it writes, and the documents keep the
// field names other programs read (sdpa_anchor.py's bench rows, entry.json, verdict lines).
#include <catch2/catch.hpp>

#include <unordered_set>

#include "flashcore/error.hpp"
#include "flashcore/runtime.hpp"
#include "flashcore/tools/probe.hpp"
#include "test_support.hpp"
#include "tools/json_codec.hpp"

using namespace flashcore;
using json = nlohmann::json;

TEST_CASE("the problem codec writes the row fields and reads them back", "[json]") {
    AttentionProblem p = AttentionProblem::from_shape("2,8,2,100,300,128");
    p.causal = true;
    p.dtype = DType::bf16;
    json j = p;
    CHECK(j == json::parse(R"({"B":2,"Hq":8,"Hkv":2,"Sq":100,"Skv":300,"D":128,"causal":true,"dtype":"bf16"})"));
    CHECK(j.get<AttentionProblem>() == p);
    p.scale = 0.25f;
    p.with_lse = true;
    j = p;
    CHECK(j["scale"] == 0.25);
    CHECK(j["with_lse"] == true);
    CHECK(j.get<AttentionProblem>() == p);
    j["dtype"] = "f64";
    CHECK_THROWS_AS(j.get<AttentionProblem>(), Error);
}

TEST_CASE("problems are plan keys: equal problems hash alike", "[json][plan]") {
    AttentionProblem a = AttentionProblem::from_shape("1,8,8,512,512,64"), b = a;
    b.scale = -0.f;  // the same as 0: 1/sqrt(D)
    CHECK(a == b);
    CHECK(std::hash<AttentionProblem>{}(a) == std::hash<AttentionProblem>{}(b));
    std::unordered_set<AttentionProblem> set{a};
    for (auto change : {+[](AttentionProblem& p) { p.causal = true; }, +[](AttentionProblem& p) { p.with_lse = true; },
                        +[](AttentionProblem& p) { p.dtype = DType::bf16; }, +[](AttentionProblem& p) { p.Skv = 511; },
                        +[](AttentionProblem& p) { p.scale = 0.5f; }}) {
        AttentionProblem c = a;
        change(c);
        CHECK_FALSE(c == a);
        CHECK(set.count(c) == 0);
    }
}

TEST_CASE("the probe request is one document, compile options included", "[json][probe]") {
    ProbeRequest r;
    r.variant = "toy_attention:threads=64";
    r.problem = AttentionProblem::from_shape("1,2,16,64");
    r.seed = 1234;
    r.time = true;
    r.dump_path = "/tmp/out.f32";
    r.device = 1;
    r.compile.add_flag("-G");
    r.compile.add_flag("-DNAME=1");
    r.compile.allowed_warnings = {"local-wmma"};
    r.env["X"] = "not in the document";
    json doc = r;
    CHECK(doc["variants"] == json::array({"toy_attention:threads=64"}));
    CHECK_FALSE(doc.contains("env"));
    ProbeRequest back = doc.get<ProbeRequest>();
    CHECK(back.variant == r.variant);
    CHECK(back.problem == r.problem);
    CHECK(back.seed == 1234);
    CHECK(back.time);
    CHECK(back.verify);
    CHECK(back.dump_path == r.dump_path);
    CHECK(back.device == 1);
    CHECK(back.compile.canonical() == r.compile.canonical());
    CHECK(back.compile.allowed_warnings == r.compile.allowed_warnings);

    json batch = json::parse(probe_document(r, {"a", "b"}));
    CHECK(probe_variants(batch) == std::vector<std::string>{"a", "b"});
    batch["variants"] = json::array();
    CHECK_THROWS_AS(probe_variants(batch), Error);
}

TEST_CASE("verdict lines have every key, null where there is no value", "[json][probe]") {
    ProbeResult r;
    r.verdict = Verdict::mismatch;
    r.variant = "v";
    r.max_abs_err = 0.5;
    r.log = "ptxas info";
    r.message = "o differs";
    json j = r;
    CHECK(j == json::parse(R"({"verdict":"mismatch","variant":"v","max_abs_err":0.5,"log":"ptxas info",
        "error":"o differs","seed":null,"source":null,"key":null,"mean_abs_err":null,"non_finite":null,
        "tolerance":null,"reference":null,"compared":null,"us_graph":null,"us_graph_min":null,"us_graph_max":null,
        "us_eager":null,"error_code":null,"error_stage":null,"exit_code":null,"signal":null,"wall_ms":null})"));
    // A line of an older child ("message", "stage") still reads.
    ProbeResult old = json::parse(R"({"verdict":"compile_error","variant":"v","message":"nvrtc said no","stage":"compile"})")
                          .get<ProbeResult>();
    CHECK(old.message == "nvrtc said no");
    CHECK(old.error_stage == "compile");
    ProbeResult parsed;
    parsed.exit_code = 3;  // the parent's own field: reading a line leaves it alone
    CHECK(parse_probe_output("noise\n" + j.dump() + "\n{not json\n", parsed));
    CHECK(parsed.verdict == Verdict::mismatch);
    CHECK(parsed.max_abs_err == 0.5);
    CHECK(parsed.log == "ptxas info");
    CHECK(parsed.us_graph == -1);
    CHECK(parsed.exit_code == 3);
    CHECK_FALSE(parse_probe_output("{\"no\": \"verdict\"}\n", parsed));
    CHECK_THROWS_AS(json::parse(R"({"verdict":"fine"})").get<ProbeResult>(), Error);
}

TEST_CASE("bench rows keep sdpa_anchor.py's names and read back", "[json][bench]") {
    BenchRow row;
    row.impl = "flashcore-auto";
    row.variant = "attention_mma:block_m=32";
    row.selection = "heuristic";
    row.problem = AttentionProblem::from_shape("1,8,8,512,512,64");
    row.problem.dtype = DType::bf16;
    row.us_graph = 4.0;
    row.us_eager = 6.0;
    json j = row;
    CHECK(j["dtype"] == "bfloat16");
    CHECK(j["max_abs_err"].is_null());
    BenchRow back = j.get<BenchRow>();
    CHECK(back.problem == row.problem);
    CHECK(back.variant == row.variant);
    CHECK_FALSE(back.max_abs_err);
    row.max_abs_err = 1e-3;
    CHECK(json(row).get<BenchRow>().max_abs_err == 1e-3);
}

TEST_CASE("tune records, device lists and cache manifests round-trip", "[json]") {
    TuneRecord r;
    r.variant = "v";
    r.verdict = Verdict::ok;
    r.us_median = 2;
    r.us_min = 1.5;
    r.us_max = 2.5;
    json j = r;
    CHECK(j["spread"] == 0.5);
    TuneRecord back = j.get<TuneRecord>();
    CHECK(back.us_min == 1.5);
    j.erase("us_min");
    CHECK(j.get<TuneRecord>().us_min == 2);  // an old record without the spread reads as no spread

    DevicesReport report;
    report.nvrtc = "13.0";
    report.driver_version = 13000;
    DeviceInfo h100;
    h100.name = "H100";
    h100.sm = 90;
    h100.num_sms = 132;
    h100.smem_per_block_optin = 232448;
    report.devices = {h100};
    json devices = report;
    CHECK(devices["devices"][0]["arch"] == "sm_90");
    CHECK(devices["devices"][0]["smem_optin_bytes"] == 232448);
    DevicesReport read = devices.get<DevicesReport>();
    REQUIRE(read.find(0));
    CHECK(read.find(0)->sm == 90);
    CHECK(read.find(0)->driver_version == 13000);
    CHECK(read.describe(0) == "H100 (sm_90), driver 13.0, NVRTC 13.0");
    CHECK(read.describe(1) == "no GPU 1, driver 13.0, NVRTC 13.0");

    CacheEntry entry;
    entry.key = "k";
    entry.components.template_id = "t";
    entry.components.variant = "t:a=1";
    entry.compiled.cubin = "0123456789";
    entry.compiled.lowered_name = "_Z1k";
    entry.compiled.resources.registers = 40;
    json manifest = json::parse(entry_to_json(entry, 7));
    CHECK(manifest["cubin_bytes"] == 10);
    CHECK(manifest["cubin_xxh3_64"] == "0000000000000007");
    CHECK(manifest["components"]["key_schema"] == kKeySchemaVersion);
    EntryManifest m = manifest.get<EntryManifest>();
    CHECK(m.entry.components.variant == "t:a=1");
    CHECK(m.entry.compiled.resources.registers == 40);
    CHECK(m.entry.compiled.cubin.empty());
}

TEST_CASE("tune records: null for no timing or error check, \"error\" for the reason; old records read", "[json][tune]") {
    TuneRecord failed;
    failed.variant = "attention_mma:block_m=64";
    failed.verdict = Verdict::launch_fault;
    failed.message = "planted fault";
    json j = failed;
    CHECK(j["us_median"].is_null());
    CHECK(j["spread"].is_null());
    CHECK(j["max_abs_err"].is_null());
    CHECK(j["error"] == "planted fault");
    CHECK_FALSE(j.contains("message"));
    TuneRecord back = j.get<TuneRecord>();
    CHECK(back.us_median == -1);
    CHECK(back.max_abs_err == -1);
    CHECK(back.message == "planted fault");
    TuneRecord old = json::parse(R"({"variant":"v","verdict":"ok","us_median":3.5,"us_min":3.0,"us_max":4.0,
        "max_abs_err":0.001,"message":"","problem":"p"})").get<TuneRecord>();
    CHECK(old.us_median == 3.5);
    CHECK(old.max_abs_err == 0.001);
    CHECK(old.message.empty());
}

TEST_CASE("bench rows and device lists: null where nothing was measured or known", "[json][bench]") {
    BenchRow listed{"flashcore-auto", "", "", AttentionProblem::from_shape("1,8,512,64"), -1, -1, std::nullopt, "", ""};
    json j = listed;
    for (const char* key : {"us_graph", "us_eager", "tflops", "max_abs_err", "device", "variant", "selection", "reference"})
        CHECK(j[key].is_null());
    CHECK(j["dtype"] == "float16");
    BenchRow back = j.get<BenchRow>();
    CHECK(back.us_graph == -1);
    CHECK(back.variant.empty());

    DevicesReport none;
    none.reason = "no CUDA driver found";
    json d = none;
    CHECK(d["driver_version"].is_null());
    CHECK(d.get<DevicesReport>().reason == "no CUDA driver found");
    CHECK(json(DevicesReport{})["reason"].is_null());
}
