// Module JobGateApp.
