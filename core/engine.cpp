#include "engine.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "ops.h"

namespace attnviz {
namespace {

// Indexed by AttentionKind.
const char* const kKindNames[3] = {"encoder self-attention", "decoder self-attention", "cross-attention"};

int layers_of(const Config& c, AttentionKind kind) {
  return kind == AttentionKind::kEncoderSelf ? c.num_encoder_layers : c.num_decoder_layers;
}

}  // namespace

void AttentionTrace::reset(int new_layers, int new_heads, int new_rows, int new_cols, float fill,
                           int only) {
  layers = new_layers;
  heads = new_heads;
  rows = new_rows;
  cols = new_cols;
  first_layer = only >= 0 ? only : 0;
  recorded_layers = only >= 0 ? 1 : layers;
  data.assign(size_t(recorded_layers) * heads * rows * cols, fill);
}

void AttentionTrace::shrink(int new_rows, int new_cols) {
  float* out = data.data();
  for (int block = 0; block < recorded_layers * heads; ++block)
    for (int r = 0; r < new_rows; ++r) {
      const float* in = data.data() + (size_t(block) * rows + r) * cols;
      std::memmove(out, in, sizeof(float) * new_cols);
      out += new_cols;
    }
  rows = new_rows;
  cols = new_cols;
  data.resize(size_t(recorded_layers) * heads * rows * cols);
}

void RunResult::clear() {
  for (auto* ids : {&src_ids, &tgt_ids, &output_ids, &next_ids}) ids->clear();
  src_tokens.clear();
  tgt_tokens.clear();
  output.clear();
  for (auto* trace : {&encoder_self, &decoder_self, &cross}) trace->clear();
  for (auto& trace : scores) trace.clear();
  for (auto& trace : value_norms) trace.clear();
  logits.clear();
  logit_rows = 0;
  notices.clear();
}

Engine::Engine(const Model& model)
    : model_(model),
      tokenizer_(model.tokenizer, model.config.max_len, model.config.is_seq2seq()),
      caches_(model.decoder.size()) {
  const Config& c = model.config;
  workspace_.reserve(c.max_len, c.d_model, c.nhead, c.dim_feedforward);
  memory_.resize(c.max_len, c.d_model);
  x_.resize(c.max_len, c.d_model);
  logits_.resize(c.max_len, static_cast<Eigen::Index>(model.output_vocab().size()));
}

Status Engine::run(std::string_view text, const RunOptions& options, RunResult& result) {
  try {
    result.clear();
    set_ablations(options.ablations);
    capture_scores_ = options.capture_scores;
    capture_value_norms_ = options.capture_value_norms;
    capture_limit_ = options.capture_limit;
    std::copy(options.capture_layer, options.capture_layer + 3, capture_layer_);
    tokenizer_.encode_source(text, source_);
    const Encoded& source = source_;
    result.src_ids = source.ids;
    for (int id : source.ids) result.src_tokens.push_back(tokenizer_.source().token(id));
    if (source.truncated) {
      const int kept = static_cast<int>(source.ids.size()) - model_.tokenizer.src_bos -
                       model_.tokenizer.src_eos;
      result.notices.push_back("the text has " + std::to_string(source.text_tokens) +
                               " tokens; the model reads " + std::to_string(kept) +
                               " (max_len " + std::to_string(model_.config.max_len) +
                               "), the rest was cut off");
    }
    if (model_.config.is_seq2seq()) run_seq2seq(options, result);
    else run_causal_lm(options, result);
    return Status::success();
  } catch (const Error& e) {
    return Status::failure(e.what());
  } catch (const std::bad_alloc&) {
    return Status::failure("out of memory while running the model");
  }
}

void Engine::embed(const TensorView& table, const int* ids, int count, int first_position,
                   Eigen::Ref<Matrix> out) const {
  const Config& c = model_.config;
  eigen_assert(out.rows() == count && out.cols() == c.d_model);
  const auto embeddings = table.matrix();
  for (int i = 0; i < count; ++i) {
    out.row(i) = embeddings.row(ids[i]) * static_cast<float>(c.embed_scale);
    if (!model_.positions.empty()) out.row(i) += model_.positions.matrix().row(first_position + i);
  }
}

AttentionRecord Engine::record_for(RunResult& result, AttentionKind kind, int layer, int row) const {
  const int k = static_cast<int>(kind);
  AttentionRecord record;
  record.weights = result.attention(kind).out(layer, row);
  record.scores = result.scores[k].out(layer, row);
  record.value_norms = result.value_norms[k].out(layer);
  record.ablation = ablation_[k].empty() ? nullptr : ablation_[k].data() + size_t(layer) * model_.config.nhead;
  return record;
}

void Engine::set_ablations(const std::vector<HeadAblation>& ablations) {
  const Config& c = model_.config;
  for (auto& modes : ablation_) modes.clear();
  for (const HeadAblation& a : ablations) {
    const int k = static_cast<int>(a.kind);
    const int layers = layers_of(c, a.kind);
    if (layers == 0) throw Error(std::string("ablation: the model has no ") + kKindNames[k]);
    if (a.layer < 0 || a.layer >= layers)
      throw Error("ablation: layer " + std::to_string(a.layer) + " is out of range (" + kKindNames[k] +
                  " has " + std::to_string(layers) + " layers)");
    if (a.head < 0 || a.head >= c.nhead)
      throw Error("ablation: head " + std::to_string(a.head) + " is out of range (" +
                  std::to_string(c.nhead) + " heads)");
    if (ablation_[k].empty()) ablation_[k].assign(size_t(layers) * c.nhead, Ablation::kNone);
    ablation_[k][size_t(a.layer) * c.nhead + a.head] = a.mode;
  }
}

void Engine::reset_traces(AttentionKind kind, int rows, int cols, RunResult& result, float score_fill) {
  const Config& c = model_.config;
  const int k = static_cast<int>(kind);
  const int layers = layers_of(c, kind);
  const size_t every_layer = size_t(layers) * c.nhead * rows * cols;
  int only = -1;
  if (capture_limit_ > 0 && every_layer > capture_limit_ && layers > 1) {
    only = std::clamp(capture_layer_[k], 0, layers - 1);
    const auto mib = [](size_t floats) {
      const std::string text = std::to_string(double(floats) * 4 / (1 << 20));
      return text.substr(0, text.find('.') + 2) + " MiB";
    };
    // Counted from 1 here, as "of N" reads and as the page shows layers.
    result.notices.push_back(std::string(kKindNames[k]) + ": attention recorded for layer " +
                             std::to_string(only + 1) + " of " + std::to_string(layers) +
                             " only (every layer would take " + mib(every_layer) +
                             ", over the capture limit of " + mib(capture_limit_) + ")");
  }
  result.attention(kind).reset(layers, c.nhead, rows, cols, 0.0f, only);
  if (capture_scores_) result.scores[k].reset(layers, c.nhead, rows, cols, score_fill, only);
}

void Engine::encode(const std::vector<int>& ids, const uint8_t* padding, Eigen::Ref<Matrix> x,
                    RunResult* record) {
  const Config& c = model_.config;
  const int length = static_cast<int>(ids.size());
  embed(model_.src_embedding, ids.data(), length, 0, x);
  const int kind = static_cast<int>(AttentionKind::kEncoderSelf);
  if (record) {
    reset_traces(AttentionKind::kEncoderSelf, length, length, *record);
    if (capture_value_norms_) record->value_norms[kind].reset(c.num_encoder_layers, c.nhead, 1, length);
  }
  AttentionMask mask;
  mask.causal = c.causal;
  mask.key_padding = padding;
  for (int l = 0; l < c.num_encoder_layers; ++l) {
    AttentionRecord layer_record;
    if (record) layer_record = record_for(*record, AttentionKind::kEncoderSelf, l, 0);
    else if (!ablation_[kind].empty()) layer_record.ablation = ablation_[kind].data() + size_t(l) * c.nhead;
    encoder_layer_forward(model_.encoder[l], c, x, mask, layer_record, workspace_);
  }
  if (c.encoder_norm)
    layer_norm(x, model_.encoder_norm.weight, model_.encoder_norm.bias, static_cast<float>(c.layer_norm_eps));
}

void Engine::append_logits(const Eigen::Ref<const Matrix>& x, RunResult& result) {
  auto logits = logits_.topRows(x.rows());  // [rows x vocab]
  linear(x, model_.output.weight, model_.output.bias, logits);
  result.logits.insert(result.logits.end(), logits.data(), logits.data() + logits.size());
  result.logit_rows += static_cast<int>(logits.rows());
}

void Engine::run_seq2seq(const RunOptions& options, RunResult& result) {
  const Config& c = model_.config;
  const SpecialTokens& specials = model_.tokenizer.specials;
  const int src_len = static_cast<int>(result.src_ids.size());

  padding_.clear();
  if (model_.tokenizer.src_key_padding_mask)
    for (int id : result.src_ids) padding_.push_back(id == specials.pad);
  const uint8_t* memory_padding = padding_.empty() ? nullptr : padding_.data();

  auto memory = memory_.topRows(src_len);  // [S x d]
  encode(result.src_ids, memory_padding, memory, &result);
  if (!options.decode) return;

  std::vector<int>& forced = target_.ids;
  forced.clear();
  if (options.teacher_forced) {
    tokenizer_.encode_target(options.target, c.max_len - 1, target_);
    if (target_.truncated)
      result.notices.push_back("the target was cut to " + std::to_string(forced.size()) +
                               " tokens (max_len " + std::to_string(c.max_len) + ")");
  }
  const int max_steps = options.teacher_forced ? static_cast<int>(forced.size()) + 1
                                               : c.max_output_len;
  for (int l = 0; l < c.num_decoder_layers; ++l)
    prepare_decoder_cache(model_.decoder[l], c, memory, caches_[l]);
  // Each step writes its row of scores up to itself: the keys after it stay masked (-inf).
  reset_traces(AttentionKind::kDecoderSelf, max_steps, max_steps, result,
               -std::numeric_limits<float>::infinity());
  reset_traces(AttentionKind::kCross, max_steps, src_len, result);
  const int self_kind = static_cast<int>(AttentionKind::kDecoderSelf);
  const int cross_kind = static_cast<int>(AttentionKind::kCross);
  if (capture_value_norms_) {
    result.value_norms[self_kind].reset(c.num_decoder_layers, c.nhead, 1, max_steps);
    result.value_norms[cross_kind].reset(c.num_decoder_layers, c.nhead, 1, src_len);
  }

  // One decoder position per step; the cache holds every earlier position's keys/values.
  int token = specials.bos;
  auto x = x_.topRows(1);  // [1 x d]
  for (int step = 0; step < max_steps; ++step) {
    result.tgt_ids.push_back(token);
    embed(model_.tgt_embedding, &token, 1, step, x);
    for (int l = 0; l < c.num_decoder_layers; ++l)
      decoder_layer_forward(model_.decoder[l], c, x, caches_[l], memory_padding,
                            record_for(result, AttentionKind::kDecoderSelf, l, step),
                            record_for(result, AttentionKind::kCross, l, step), workspace_);
    if (c.decoder_norm)
      layer_norm(x, model_.decoder_norm.weight, model_.decoder_norm.bias, static_cast<float>(c.layer_norm_eps));
    append_logits(x, result);
    const int vocab = static_cast<int>(model_.output_vocab().size());
    const int best = argmax(result.logits.data() + size_t(step) * vocab, vocab);
    result.output_ids.push_back(best);
    if (options.teacher_forced) {
      if (step < static_cast<int>(forced.size())) token = forced[step];
    } else {
      if (best == specials.eos) break;
      token = best;
    }
  }
  const int steps = static_cast<int>(result.tgt_ids.size());
  result.decoder_self.shrink(steps, steps);
  result.cross.shrink(steps, src_len);
  if (capture_scores_) {
    result.scores[self_kind].shrink(steps, steps);
    result.scores[cross_kind].shrink(steps, src_len);
  }
  if (capture_value_norms_) result.value_norms[self_kind].shrink(1, steps);
  for (int id : result.tgt_ids) result.tgt_tokens.push_back(tokenizer_.target().token(id));
  tokenizer_.decode(result.output_ids, result.output);
}

void Engine::run_causal_lm(const RunOptions& options, RunResult& result) {
  const Config& c = model_.config;
  auto x = x_.topRows(static_cast<Eigen::Index>(result.src_ids.size()));  // [S x d]
  encode(result.src_ids, nullptr, x, &result);
  append_logits(x, result);
  const int vocab = static_cast<int>(model_.output_vocab().size());
  for (int r = 0; r < result.logit_rows; ++r)
    result.next_ids.push_back(argmax(result.logits.data() + size_t(r) * vocab, vocab));

  // The continuation re-runs the stack on the growing text (attention is the text's only)
  // until <eos>, max_output_len tokens, or the text has filled max_len.
  const int room = c.max_len - static_cast<int>(result.src_ids.size()) + 1;
  int wanted = std::min(std::max(0, options.continuation), c.max_output_len);
  if (wanted > room) {
    result.notices.push_back("the continuation was cut to " + std::to_string(room) +
                             " tokens (max_len " + std::to_string(c.max_len) + ")");
    wanted = room;
  }
  ids_ = result.src_ids;
  int next = result.next_ids.back();
  for (int k = 0; k < wanted; ++k) {
    result.output_ids.push_back(next);
    if (k + 1 == wanted || next == model_.tokenizer.specials.eos) break;
    ids_.push_back(next);
    auto y = x_.topRows(static_cast<Eigen::Index>(ids_.size()));
    encode(ids_, nullptr, y, nullptr);
    auto logits = logits_.topRows(1);
    linear(y.bottomRows(1), model_.output.weight, model_.output.bias, logits);
    next = argmax(logits.data(), vocab);
  }
  tokenizer_.decode(result.output_ids, result.output);
}

}  // namespace attnviz
