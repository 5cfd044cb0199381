// Fixture: compiled with 2 pages of memory (app.json ascArgs); every board allows 1.
export * from "iotfw/core/entry";
