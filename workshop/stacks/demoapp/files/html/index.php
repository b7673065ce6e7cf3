<?php
// demoapp: served by PHP-FPM in one of the `app` replicas. This file lives on the
// shared GlusterFS volume: edit it on any node and every replica serves the change.
$host = gethostname();
header('X-Served-By: ' . $host);
?><!doctype html>
<html>
<head><meta charset="utf-8"><title>demoapp</title></head>
<body>
<h1>Hello from the swarm</h1>
<p>Served by container <strong id="hostname"><?= htmlspecialchars($host) ?></strong>
at <?= date('H:i:s') ?>.</p>
</body>
</html>
