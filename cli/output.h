// Renders engine results and model facts for the command line: JSON and CSV.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>

#include "engine.h"
#include "model.h"

namespace attnviz {

// {"src_tokens", "tgt_tokens", "output", "output_ids", "notices",
//  "attention": {"encoder_self", "decoder_self", "cross"}} with attention nested
// [layer][head][query][key]; kinds the model lacks are omitted.
nlohmann::json result_json(const RunResult& result, bool seq2seq);

// One row per weight: kind,layer,head,query,key,query_token,key_token,weight.
void write_csv(std::ostream& out, const RunResult& result);

// Config, parameter count, vocabularies and metadata.
nlohmann::json model_info_json(const Model& model);

}  // namespace attnviz
