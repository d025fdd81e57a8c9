// What vigild starts and stops for each configured posture source. Every
// collector gathers its signals on its own thread and publishes them into
// the SignalStore; vigild only owns the list.
//
//   std::vector<std::unique_ptr<Collector>> collectors;
//   collectors.push_back(std::make_unique<SocketCollector>(settings, store));
//   for (auto& c : collectors) c->start();
//   ...
//   for (auto& c : collectors) c->stop();   // joins; returns within one collection's deadline
#ifndef VIGIL_POSTURE_COLLECTOR_H
#define VIGIL_POSTURE_COLLECTOR_H

namespace vigil::posture {

class Collector {
public:
    virtual ~Collector() = default;
    // Starts the collector's thread; the first collection runs at once.
    virtual void start() = 0;
    // Stops and joins the thread. Signals keep their last values: vigild is
    // going away or reloading, and max_age ages them out if it is not.
    virtual void stop() = 0;
};

}  // namespace vigil::posture

#endif
