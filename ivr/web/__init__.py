"""The CSOs' screen-pop page: login, the page itself and its WebSocket."""
