// Module JobGateAPI.
