"""Configuration for the gateway's clients: VS Code's ``chatLanguageModels.json`` and a Postman collection."""
