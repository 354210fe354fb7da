// Module JobGateHTTP.
