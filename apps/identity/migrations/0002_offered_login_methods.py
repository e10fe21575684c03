from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    """Which login methods an application offers: apart from 0001, so that the login methods
    need no applications (the oldest state of policies stays its first migration)."""

    dependencies = [
        ('identity', '0001_initial'),
        ('policies', '0002_applications'),
    ]

    operations = [
        migrations.CreateModel(
            name='ApplicationLoginMethod',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('application', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='login_methods', to='policies.application')),
                ('login_method', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='offered_to', to='identity.loginmethod')),
            ],
            options={
                'verbose_name': 'login method offered',
                'constraints': [models.UniqueConstraint(fields=('application', 'login_method'), name='identity_offered_once')],
            },
        ),
    ]
