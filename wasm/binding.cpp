// The WebAssembly binding: plain C exports (no embind, whose generated code needs eval and
// fails under a strict Content-Security-Policy). It only converts types: models and results
// live here between calls, attention stays in the results' buffers and JS views it in place.
// Nothing throws past this file; every failure becomes a message for attnviz_last_error.
#include <emscripten/emscripten.h>

#include <map>
#include <memory>
#include <string>

#include "engine.h"
#include "report.h"
#include "weights_loader.h"

namespace {

struct Session {
  attnviz::Model model;
  std::unique_ptr<attnviz::Engine> engine;
  attnviz::RunOptions probes;  // ablations and captures, kept for every later run
  attnviz::RunResult result;
  std::string text;  // the last JSON handed to JS, kept alive until the next call
};

std::map<int, std::unique_ptr<Session>> sessions;
int next_handle = 1;
std::string last_error;

Session* find(int handle) {
  auto it = sessions.find(handle);
  if (it == sessions.end()) {
    last_error = "no model with handle " + std::to_string(handle) + " (disposed?)";
    return nullptr;
  }
  return it->second.get();
}

const attnviz::AttentionTrace* trace_of(Session& s, int kind) {
  if (kind < 0 || kind > 2) return nullptr;
  return &s.result.attention(static_cast<attnviz::AttentionKind>(kind));
}

// Runs the session's engine and keeps the result's JSON for JS; null (with last_error) on failure.
const char* run_session(Session& s, std::string_view text, const attnviz::RunOptions& options) {
  try {
    const attnviz::Status status = s.engine->run(text, options, s.result);
    if (!status.ok) {
      last_error = status.message;
      return nullptr;
    }
    attnviz::write_result_summary(s.result, s.model.config.is_seq2seq(), s.text);
  } catch (const std::bad_alloc&) {
    last_error = "out of memory while running the model";
    return nullptr;
  } catch (const std::exception& e) {
    last_error = e.what();
    return nullptr;
  }
  return s.text.c_str();
}

}  // namespace

extern "C" {

// Loads a weights file from `length` bytes of JSON. Returns a handle > 0, or 0 on failure.
EMSCRIPTEN_KEEPALIVE int attnviz_load(const char* json, int length) {
  try {
    auto session = std::make_unique<Session>();
    const attnviz::Status status = attnviz::load_model(std::string_view(json, size_t(length)), session->model);
    if (!status.ok) {
      last_error = status.message;
      return 0;
    }
    session->engine = std::make_unique<attnviz::Engine>(session->model);
    const int handle = next_handle++;
    sessions[handle] = std::move(session);
    return handle;
  } catch (const std::bad_alloc&) {
    last_error = "out of memory while loading the weights";
  } catch (const std::exception& e) {
    last_error = e.what();
  }
  return 0;
}

EMSCRIPTEN_KEEPALIVE const char* attnviz_last_error() { return last_error.c_str(); }

// The model's config, parameter count, tokenizer and metadata as JSON text.
EMSCRIPTEN_KEEPALIVE const char* attnviz_info(int handle) {
  Session* s = find(handle);
  if (!s) return nullptr;
  try {
    s->text = attnviz::model_info_json(s->model).dump();
  } catch (const std::exception& e) {
    last_error = e.what();
    return nullptr;
  }
  return s->text.c_str();
}

// Runs the model on UTF-8 text. has_target: teacher-force `target` (seq2seq). Returns the
// result as JSON text (tokens, output, attention dimensions), or null on failure.
EMSCRIPTEN_KEEPALIVE const char* attnviz_run(int handle, const char* text, int text_length,
                                             int has_target, const char* target,
                                             int target_length, int continuation) {
  Session* s = find(handle);
  if (!s) return nullptr;
  attnviz::RunOptions options = s->probes;
  options.teacher_forced = has_target != 0;
  if (options.teacher_forced) options.target.assign(target, size_t(target_length));
  options.continuation = continuation;
  return run_session(*s, std::string_view(text, size_t(text_length)), options);
}

// The encoder alone on UTF-8 text (seq2seq), for a quick look and for measurement; the
// result holds the encoder's attention only. Returns JSON text as attnviz_run does.
EMSCRIPTEN_KEEPALIVE const char* attnviz_encode(int handle, const char* text, int text_length) {
  Session* s = find(handle);
  if (!s) return nullptr;
  attnviz::RunOptions options = s->probes;
  options.decode = false;
  return run_session(*s, std::string_view(text, size_t(text_length)), options);
}

// The last run's attention of one kind (0 encoder self, 1 decoder self, 2 cross):
// layers*heads*rows*cols floats, valid until the next run or dispose of this model.
EMSCRIPTEN_KEEPALIVE const float* attnviz_attention(int handle, int kind) {
  Session* s = find(handle);
  const attnviz::AttentionTrace* trace = s ? trace_of(*s, kind) : nullptr;
  return trace && !trace->empty() ? trace->data.data() : nullptr;
}

// The last run's logits: [rows x vocab] floats.
EMSCRIPTEN_KEEPALIVE const float* attnviz_logits(int handle) {
  Session* s = find(handle);
  return s && !s->result.logits.empty() ? s->result.logits.data() : nullptr;
}

// Head ablations for every later run: `count` quadruples (kind 0..2, layer, head, mode:
// 1 zero, 2 uniform). count 0 clears them. Checked on the next run.
EMSCRIPTEN_KEEPALIVE int attnviz_set_ablations(int handle, const int* quads, int count) {
  Session* s = find(handle);
  if (!s) return 0;
  s->probes.ablations.clear();
  for (int i = 0; i < count; ++i) {
    const int* q = quads + 4 * i;
    if (q[0] < 0 || q[0] > 2 || (q[3] != 1 && q[3] != 2)) {
      last_error = "ablation: kind must be 0..2 and mode 1 (zero) or 2 (uniform)";
      s->probes.ablations.clear();
      return 0;
    }
    s->probes.ablations.push_back({static_cast<attnviz::AttentionKind>(q[0]), q[1], q[2],
                                   q[3] == 1 ? attnviz::Ablation::kZero : attnviz::Ablation::kUniform});
  }
  return 1;
}

// Whether later runs also record pre-softmax scores and value norms.
EMSCRIPTEN_KEEPALIVE int attnviz_set_captures(int handle, int scores, int value_norms) {
  Session* s = find(handle);
  if (!s) return 0;
  s->probes.capture_scores = scores != 0;
  s->probes.capture_value_norms = value_norms != 0;
  return 1;
}

// A bound on the attention later runs record: when one kind's attention for every layer
// would take more than `limit` floats (0: no limit), only layer layer_<kind> of it is kept.
EMSCRIPTEN_KEEPALIVE int attnviz_set_capture_limit(int handle, int limit, int encoder_self_layer,
                                                   int decoder_self_layer, int cross_layer) {
  Session* s = find(handle);
  if (!s) return 0;
  s->probes.capture_limit = limit > 0 ? size_t(limit) : 0;
  s->probes.capture_layer[0] = encoder_self_layer;
  s->probes.capture_layer[1] = decoder_self_layer;
  s->probes.capture_layer[2] = cross_layer;
  return 1;
}

// The last run's pre-softmax scores of one kind (shaped as its attention; masked: -inf), or
// its value norms ([layers][heads][1][keys]); null when not captured.
EMSCRIPTEN_KEEPALIVE const float* attnviz_scores(int handle, int kind) {
  Session* s = find(handle);
  if (!s || kind < 0 || kind > 2 || s->result.scores[kind].empty()) return nullptr;
  return s->result.scores[kind].data.data();
}

EMSCRIPTEN_KEEPALIVE const float* attnviz_value_norms(int handle, int kind) {
  Session* s = find(handle);
  if (!s || kind < 0 || kind > 2 || s->result.value_norms[kind].empty()) return nullptr;
  return s->result.value_norms[kind].data.data();
}

EMSCRIPTEN_KEEPALIVE void attnviz_dispose(int handle) { sessions.erase(handle); }

}  // extern "C"
