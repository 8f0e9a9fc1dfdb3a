// The options of `tsft train` / `tsft pretrain`, one schema each: every key's type, default, range and
// help text in one place. TrainConfig's members are initialised from it and the CLI's options take
// their help text and defaults from it (tests/train/test_train_schema.cpp checks the CLI against it).
// Keys are the CLI's long option names with '_' for '-' (steps is TrainConfig::max_steps).
#pragma once
#include <string>

#include "core/config_schema.hpp"
#include "model/engine.hpp"

namespace tsft {

// "train" (SFT) and "pretrain" (the same keys; pre-training's own learning rate).
const schema::Section& train_schema(bool pretrain = false);
// The key `name` (an error naming it if the schema lacks it: a programming mistake).
const schema::Key& train_key(const std::string& name, bool pretrain = false);
template <typename T>
T train_default(const char* name) {
  return train_key(name).def.get<T>();
}
// The optimizer settings' defaults (AdamW's own struct lives with the engines).
AdamWConfig train_adam_defaults(bool pretrain = false);

}  // namespace tsft
