import JobGateApp
