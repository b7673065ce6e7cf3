<?php
// Placeholder: the demoapp stack mounts its own code from the shared volume here.
echo "app image without code: mount the application at /var/www/html\n";
