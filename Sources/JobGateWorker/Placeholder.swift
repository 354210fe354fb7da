// Module JobGateWorker.
