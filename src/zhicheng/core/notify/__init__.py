"""The notification outbox: messages to people written in the transaction of their cause, delivered later."""
