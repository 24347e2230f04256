"""The billing company's workspace: the FastAPI application (JSON API under /api, server-rendered
pages elsewhere) over the store and the engine."""
