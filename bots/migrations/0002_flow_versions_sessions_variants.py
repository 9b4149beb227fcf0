import django.db.models.deletion
from django.db import migrations, models


def fill_slugs(apps, schema_editor):
    Flow = apps.get_model("bots", "Flow")
    for flow in Flow.objects.all():
        flow.slug = f"flow-{flow.pk}"
        flow.save(update_fields=["slug"])


class Migration(migrations.Migration):

    dependencies = [
        ("bots", "0001_initial"),
        ("chat", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="flow",
            name="slug",
            # Plain and nullable first: existing rows get a slug before it becomes unique.
            field=models.CharField(max_length=80, null=True),
        ),
        migrations.RunPython(fill_slugs, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="flow",
            name="slug",
            field=models.SlugField(
                help_text="Stable name used by export and import.", max_length=80, unique=True
            ),
        ),
    
        migrations.AddField(
            model_name='flow',
            name='description',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='flow',
            name='draft',
            field=models.JSONField(blank=True, default=dict, help_text='The graph being edited.'),
        ),
        migrations.AddField(
            model_name='flow',
            name='goal',
            field=models.CharField(choices=[('lead_captured', 'Lead captured (an email or phone collected)'), ('resolved_without_agent', 'Resolved without an agent')], default='lead_captured', help_text="What counts as a conversion for the variants' Thompson sampling.", max_length=32),
        ),
        migrations.AddField(
            model_name='flow',
            name='updated_at',
            field=models.DateTimeField(auto_now=True),
        ),
        migrations.CreateModel(
            name='FlowVersion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveIntegerField()),
                ('graph', models.JSONField()),
                ('published_by', models.CharField(blank=True, max_length=120)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('flow', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='versions', to='bots.flow')),
            ],
            options={
                'ordering': ['flow', '-number'],
            },
        ),
        migrations.CreateModel(
            name='BotSession',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('node', models.CharField(help_text='The node waiting for the customer.', max_length=64)),
                ('awaiting', models.CharField(blank=True, max_length=16)),
                ('retries', models.PositiveSmallIntegerField(default=0)),
                ('state', models.CharField(choices=[('active', 'Active'), ('handed_off', 'Handed Off'), ('ended', 'Ended')], default='active', max_length=16)),
                ('attributes', models.JSONField(blank=True, default=dict, help_text='What the bot collected.')),
                ('tags', models.JSONField(blank=True, default=list)),
                ('intent', models.CharField(blank=True, max_length=64)),
                ('variants', models.JSONField(blank=True, default=dict)),
                ('path', models.JSONField(blank=True, default=list, help_text='Nodes visited, in order.')),
                ('steps', models.PositiveIntegerField(default=0)),
                ('goal_reached_at', models.DateTimeField(blank=True, null=True)),
                ('lead_captured_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('conversation', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='bot_session', to='chat.conversation')),
                ('bot_participant', models.ForeignKey(blank=True, help_text='The bot who speaks in this conversation (saves a lookup per step).', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='chat.participant')),
                ('version', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='sessions', to='bots.flowversion')),
            ],
        ),
        migrations.AddField(
            model_name='flow',
            name='published_version',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='bots.flowversion'),
        ),
        migrations.CreateModel(
            name='VariantStat',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('node', models.CharField(max_length=64)),
                ('variant', models.CharField(max_length=64)),
                ('shown', models.PositiveIntegerField(default=0)),
                ('converted', models.PositiveIntegerField(default=0)),
                ('flow', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='variant_stats', to='bots.flow')),
            ],
            options={
                'ordering': ['flow', 'node', 'variant'],
            },
        ),
        migrations.AddConstraint(
            model_name='flowversion',
            constraint=models.UniqueConstraint(fields=('flow', 'number'), name='flowversion_unique_number'),
        ),
        migrations.AddConstraint(
            model_name='variantstat',
            constraint=models.UniqueConstraint(fields=('flow', 'node', 'variant'), name='variantstat_unique_variant'),
        ),
    ]
