// Module JobGatePostgres.
