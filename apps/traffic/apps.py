from django.apps import AppConfig


class TrafficConfig(AppConfig):
    """What the guard did: the access log, the client certificates seen, metrics, alerts."""

    name = "apps.traffic"
    label = "traffic"
    verbose_name = "Traffic"

    def ready(self) -> None:
        from apps.base.draining import register_drain
        from apps.base.portability import register_not_configuration
        from apps.gateway.sinks import register_ruling_sink
        from apps.traffic.recorder import recorder

        # Every ruling is handed to the recorder, which only appends to memory; its
        # background thread writes the access log and the inventory (apps.traffic.writer).
        register_ruling_sink(recorder.record)
        register_drain("access log", recorder.drain)  # written before a worker stops
        # Not carried by `accessctl export` (a database copy keeps it): traffic's record.
        register_not_configuration("traffic", "the access log and the inventory of traffic")
