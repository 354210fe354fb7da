// Module JobGateCore.
