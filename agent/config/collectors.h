// The posture collectors [posture] asks for, ready to start.
//
//   auto collectors = make_collectors(config.posture, store);
//   for (auto& c : collectors) c->start();
#ifndef VIGIL_CONFIG_COLLECTORS_H
#define VIGIL_CONFIG_COLLECTORS_H

#include <memory>
#include <vector>

#include "collector.h"
#include "config.h"
#include "signal_store.h"

namespace vigil {

std::vector<std::unique_ptr<posture::Collector>> make_collectors(const PostureSettings& p, posture::SignalStore& store);

}  // namespace vigil

#endif
