// Engine results and model facts as JSON (for the CLI and the WebAssembly binding) and CSV.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "engine.h"
#include "model.h"

namespace attnviz {

// {"src_tokens", "tgt_tokens", "output", "output_ids", ["next_ids",] "notices", "attention"}.
// "attention" holds {"encoder_self", "decoder_self", "cross"} nested [layer][head][query][key];
// absent kinds are omitted. Captured scores and value norms come the same way under "scores"
// and "value_norms".
nlohmann::json result_json(const RunResult& result, bool seq2seq);

// The same object as JSON text with each trace as its dimensions {"layers", "heads", "rows",
// "cols"} only (the binding hands the floats over as views), written into `out` reusing its
// storage: once `out` has grown to fit, a run's summary allocates nothing.
void write_result_summary(const RunResult& result, bool seq2seq, std::string& out);

// One row per weight: kind,layer,head,query,key,query_token,key_token,weight.
void write_csv(std::ostream& out, const RunResult& result);

// Config, parameter count, vocabularies and metadata.
nlohmann::json model_info_json(const Model& model);

}  // namespace attnviz
