// Fixture: compiled without a maximum memory size (app.json ascArgs); boards require one.
export * from "iotfw/core/entry";
